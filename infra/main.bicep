// RDP Doctor: Azure Bot (Teams channel), Linux App Service running the bot with a user-assigned
// managed identity, and the least-privilege custom role assigned to that identity on the VM scopes.
// With storage = 'azure' also a storage account for the shared state of several instances.
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

@description('Where the bot keeps its state. sqlite: a file in DATA_DIR on the web app\'s persistent storage, one instance only. azure: a new storage account (Table, Queue and Blob) reached with the managed identity, for several instances.')
@allowed(['sqlite', 'azure'])
param storage string = 'sqlite'

@description('App Service plan capacity (instances). Only more than 1 makes sense with storage = azure: with sqlite the plan is kept at 1 instance whatever this says.')
@minValue(1)
@maxValue(30)
param instanceCount int = 1

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
// storage account names: 3-24 lower-case letters and digits, unique in Azure (11 + 13 characters at most)
var storageAccountName = '${take(toLower(replace(name, '-', '')), 11)}${suffix}'
// what AZURE_STORAGE_ACCOUNT_URL expects: the blob endpoint, from which the app derives the table and queue ones
var storageAccountUrl = 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
// built-in roles the bot's identity needs on the account: bot state (blob), store (table), fix job queue (queue)
var storageDataRoleIds = [
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
]
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
  // SQLite is one file on one instance: only the Azure Storage store can be shared by several
  sku: { name: appServicePlanSku, capacity: storage == 'azure' ? instanceCount : 1 }
  properties: { reserved: true }
}

var baseAppSettings = [
  { name: 'MicrosoftAppId', value: microsoftAppId }
  { name: 'MicrosoftAppPassword', value: microsoftAppPassword }
  { name: 'MicrosoftAppType', value: 'SingleTenant' }
  { name: 'MicrosoftAppTenantId', value: microsoftAppTenantId }
  // where browsers reach the bot: cards link to the exact text of each script there
  { name: 'PUBLIC_BASE_URL', value: 'https://${webAppName}.azurewebsites.net' }
  { name: 'AZURE_SUBSCRIPTION_IDS', value: azureSubscriptionIds }
  { name: 'AZURE_RESOURCE_GROUPS', value: azureResourceGroups }
  { name: 'APPROVER_IDS', value: approverIds }
  { name: 'ALLOW_SELF_APPROVAL', value: toLower(string(allowSelfApproval)) }
  { name: 'APPROVAL_TTL_MINUTES', value: string(approvalTtlMinutes) }
  { name: 'SNAPSHOT_BEFORE_FIX', value: toLower(string(snapshotBeforeFix)) }
  { name: 'STORAGE', value: storage }
  { name: 'WEBSITES_ENABLE_APP_SERVICE_STORAGE', value: 'true' }
]
var sqliteAppSettings = [
  { name: 'DATA_DIR', value: '/home/data' }
]
var azureStorageAppSettings = [
  { name: 'AZURE_STORAGE_ACCOUNT_URL', value: storageAccountUrl }
  // each instance spends its share of the ARM read budget and the sweep concurrency (docs/sweeps.md)
  { name: 'SWEEP_INSTANCES', value: string(instanceCount) }
]
var codeAppSettings = [
  { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'true' }
]
var containerAppSettings = [
  { name: 'WEBSITES_PORT', value: '3978' }
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = if (storage == 'azure') {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    // the app signs in with its managed identity: no account keys, no SAS
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageDataRoleIds: if (storage == 'azure') {
  name: guid(storageAccount.id, identity.id, roleId)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: identity.properties.principalId
    // the identity is new: without this, assignment may fail while Entra replicates it
    principalType: 'ServicePrincipal'
  }
}]

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
        storage == 'azure' ? azureStorageAppSettings : sqliteAppSettings,
        empty(containerImage) ? codeAppSettings : containerAppSettings
      )
    }
  }
  // the app creates its tables, queue and container at start: let it find its data roles there
  dependsOn: [storageRoleAssignments]
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
output storageAccountName string = storage == 'azure' ? storageAccountName : ''
output roleDefinitionId string = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
