targetScope = 'resourceGroup'

param roleDefinitionGuid string
param principalId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    // the identity is new: without this, assignment may fail while Entra replicates it
    principalType: 'ServicePrincipal'
  }
}
