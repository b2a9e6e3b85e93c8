// RDP Doctor: Azure Bot (Teams channel), Linux App Service running the bot with a user-assigned
// managed identity, and the least-privilege custom role assigned to that identity on the VM scopes.
// azuredeploy.json is the same template as ARM JSON (CI checks that one): change both together.
targetScope = 'resourceGroup'

@description('Base name of every resource.')
@minLength(3)
@maxLength(24)
param name string = 'rdp-doctor'

param location string = resourceGroup().location

@description('A tier with Always On: fix jobs run in the background for minutes.')
@allowed(['B1', 'B2', 'B3', 'S1', 'S2', 'S3', 'P0v3', 'P1v3', 'P2v3'])
param appServicePlanSku string = 'B1'

@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('Image built from the repository\'s Dockerfile (registry/name:tag). Empty: run the code on the Node 20 stack (zip deploy).')
param containerImage string = ''

@description('Application (client) id of the bot\'s Entra app registration (MicrosoftAppId).')
param microsoftAppId string

@description('A client secret of that app registration (MicrosoftAppPassword).')
@secure()
param microsoftAppPassword string

@description('Tenant of the single-tenant app registration (MicrosoftAppTenantId).')
param microsoftAppTenantId string = subscription().tenantId

@description('AZURE_SUBSCRIPTION_IDS: comma-separated subscriptions whose VMs the bot may look up. Empty: demo mode (simulated fleet).')
param azureSubscriptionIds string = ''

@description('AZURE_RESOURCE_GROUPS: optional comma-separated resource group names that limit the VM lookup.')
param azureResourceGroups string = ''

@description('APPROVER_IDS: comma-separated Entra object ids of the helpdesk approvers.')
param approverIds string = ''

param allowSelfApproval bool = false

@minValue(5)
@maxValue(1440)
param approvalTtlMinutes int = 60

param snapshotBeforeFix bool = true

@allowed(['sqlite', 'azure'])
param storage string = 'sqlite'

@description('Display name of the custom role; unique in the tenant.')
param roleName string = 'RDP Doctor Operator'

@description('Subscriptions on which the bot\'s identity gets the role (every VM in them).')
param roleAssignmentSubscriptionIds array = []

@description('Resource groups on which the bot\'s identity gets the role: [{ subscriptionId: \'...\', resourceGroup: \'...\' }]. Also list the groups of the VMs\' NICs and NSGs if they live elsewhere.')
param roleAssignmentResourceGroups array = []

var subscriptionScopes = [for id in roleAssignmentSubscriptionIds: '/subscriptions/${id}']
var resourceGroupScopes = [for rg in roleAssignmentResourceGroups: '/subscriptions/${rg.subscriptionId}/resourceGroups/${rg.resourceGroup}']
var suffix = uniqueString(resourceGroup().id, name)
var identityName = '${name}-id'
var planName = '${name}-plan'
var webAppName = '${name}-${suffix}'
var botName = '${name}-bot-${suffix}'
var roleDefinitionGuid = guid(subscription().id, 'rdp-doctor-role', roleName)
// one list of actions: the role file that `az role definition create` also takes
var roleFile = loadJsonContent('rdp-doctor-role.json')
var roleDescription = roleFile.Description
var roleActions = roleFile.Actions
var assignableScopes = union([subscription().id], subscriptionScopes, resourceGroupScopes)

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  kind: 'linux'
  sku: { name: appServicePlanSku }
  properties: { reserved: true }
}

var baseAppSettings = [
  { name: 'MicrosoftAppId', value: microsoftAppId }
  { name: 'MicrosoftAppPassword', value: microsoftAppPassword }
  { name: 'MicrosoftAppType', value: 'SingleTenant' }
  { name: 'MicrosoftAppTenantId', value: microsoftAppTenantId }
  { name: 'DATA_DIR', value: '/home/data' }
  { name: 'AZURE_SUBSCRIPTION_IDS', value: azureSubscriptionIds }
  { name: 'AZURE_RESOURCE_GROUPS', value: azureResourceGroups }
  { name: 'APPROVER_IDS', value: approverIds }
  { name: 'ALLOW_SELF_APPROVAL', value: toLower(string(allowSelfApproval)) }
  { name: 'APPROVAL_TTL_MINUTES', value: string(approvalTtlMinutes) }
  { name: 'SNAPSHOT_BEFORE_FIX', value: toLower(string(snapshotBeforeFix)) }
  { name: 'STORAGE', value: storage }
  { name: 'WEBSITES_ENABLE_APP_SERVICE_STORAGE', value: 'true' }
]
var codeAppSettings = [
  { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'true' }
]
var containerAppSettings = [
  { name: 'WEBSITES_PORT', value: '3978' }
]

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: webAppName
  location: location
  kind: empty(containerImage) ? 'app,linux' : 'app,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: empty(containerImage) ? 'NODE|20-lts' : 'DOCKER|${containerImage}'
      appCommandLine: empty(containerImage) ? 'node dist/bot/index.js' : ''
      alwaysOn: true
      healthCheckPath: '/healthz'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(
        baseAppSettings,
        [{ name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }],
        empty(containerImage) ? codeAppSettings : containerAppSettings
      )
    }
  }
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: botName
  location: 'global'
  kind: 'azurebot'
  sku: { name: botSku }
  properties: {
    displayName: 'RDP Doctor'
    endpoint: 'https://${webApp.properties.defaultHostName}/api/messages'
    msaAppId: microsoftAppId
    msaAppType: 'SingleTenant'
    msaAppTenantId: microsoftAppTenantId
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: { isEnabled: true, deploymentEnvironment: 'CommercialDeployment' }
  }
}

module roleDefinition 'modules/role-definition.bicep' = {
  name: '${name}-role-definition'
  scope: subscription()
  params: {
    roleDefinitionGuid: roleDefinitionGuid
    roleName: roleName
    roleDescription: roleDescription
    actions: roleActions
    assignableScopes: assignableScopes
  }
}

module subscriptionRoleAssignments 'modules/role-assignment-subscription.bicep' = [for (id, i) in roleAssignmentSubscriptionIds: {
  name: '${name}-role-sub-${i}'
  scope: subscription(id)
  params: {
    roleDefinitionGuid: roleDefinitionGuid
    principalId: identity.properties.principalId
  }
  dependsOn: [roleDefinition]
}]

module resourceGroupRoleAssignments 'modules/role-assignment-resource-group.bicep' = [for (rg, i) in roleAssignmentResourceGroups: {
  name: '${name}-role-rg-${i}'
  scope: resourceGroup(rg.subscriptionId, rg.resourceGroup)
  params: {
    roleDefinitionGuid: roleDefinitionGuid
    principalId: identity.properties.principalId
  }
  dependsOn: [roleDefinition]
}]

output botDomain string = webApp.properties.defaultHostName
output webAppName string = webApp.name
output botName string = bot.name
output managedIdentityClientId string = identity.properties.clientId
output managedIdentityPrincipalId string = identity.properties.principalId
output roleDefinitionId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
