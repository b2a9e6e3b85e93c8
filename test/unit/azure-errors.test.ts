import { isNetworkError, toDomainError } from '../../services/azure/azure-errors';
import { graphQueryForName } from '../../services/azure/graph-query';
import { DomainError } from '../../services/errors';
import { runKql } from '../../services/simulator/resource-graph';

function restError(statusCode: number, code: string, message: string, headers: Record<string, string> = {}): Error {
  const e = new Error(message) as Error & Record<string, unknown>;
  e.name = 'RestError';
  e.statusCode = statusCode;
  e.code = code;
  e.response = { status: statusCode, headers: { get: (n: string) => headers[n] }, bodyAsText: JSON.stringify({ error: { code, message } }) };
  return e;
}

describe('Azure failures become DomainErrors with stable codes', () => {
  const ctx = { operation: 'getVm', target: 'vm-1' };

  test.each([
    [404, 'ResourceNotFound', 'not-found'],
    [409, 'Conflict', 'conflict'],
    [409, 'OperationNotAllowed', 'azure-error'],
    [429, 'TooManyRequests', 'throttled'],
    [500, 'InternalServerError', 'server-error'],
    [503, 'ServiceUnavailable', 'server-error'],
    [401, 'AuthenticationFailed', 'forbidden'],
    [400, 'InvalidParameter', 'azure-error'],
  ])('HTTP %i %s -> %s', (status, code, expected) => {
    const d = toDomainError(restError(status, code, 'x'), ctx);
    expect(d).toBeInstanceOf(DomainError);
    expect(d.code).toBe(expected);
    expect(d.statusCode).toBe(status);
    expect(d.azureCode).toBe(code);
    expect(d.params.target).toBe('vm-1');
  });

  test('403 names the missing permission', () => {
    const d = toDomainError(restError(403, 'AuthorizationFailed', "The client 'a' with object id 'b' does not have authorization to perform action 'Microsoft.Compute/snapshots/write' over scope '/subscriptions/s' or the scope is invalid."), ctx);
    expect(d.code).toBe('forbidden');
    expect(d.params.permission).toBe('Microsoft.Compute/snapshots/write');
  });

  test('429 keeps Retry-After for the message', () => {
    expect(toDomainError(restError(429, 'TooManyRequests', 'slow down', { 'retry-after': '17' }), ctx).params.retryAfterSeconds).toBe(17);
  });

  test('a failed long-running operation with VMAgentStatusCommunicationError is agent-not-ready', () => {
    const d = toDomainError(new Error('The long-running operation has failed. VMAgentStatusCommunicationError. VM has not reported status for VM agent.'), ctx);
    expect(d.code).toBe('agent-not-ready');
    expect(d.azureCode).toBe('VMAgentStatusCommunicationError');
  });

  test('an abort is a timeout; a DomainError passes through unchanged', () => {
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(toDomainError(abort, ctx).code).toBe('timeout');
    const own = new DomainError('out-of-scope', 'no');
    expect(toDomainError(own, ctx)).toBe(own);
  });
});

describe('the Resource Graph query the gateway sends is the one the simulator understands', () => {
  const rows = [
    { id: '/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-web-01', name: 'vm-web-01', type: 'microsoft.compute/virtualmachines', resourceGroup: 'rg-a', subscriptionId: 's', location: 'westeurope', tags: { 'rdp-self-service': 'true' }, properties: { storageProfile: { osDisk: { osType: 'Windows' } }, extended: { instanceView: { powerState: { code: 'PowerState/running' } } } } },
    { id: '/subscriptions/s/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/VM-WEB-02', name: 'VM-WEB-02', type: 'microsoft.compute/virtualmachines', resourceGroup: 'rg-b', subscriptionId: 's', location: 'westeurope', properties: {} },
    { id: '/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Storage/storageAccounts/webstore', name: 'webstore', type: 'microsoft.storage/storageaccounts', resourceGroup: 'rg-a', subscriptionId: 's', location: 'westeurope', properties: {} },
  ];

  test('name contains is case-insensitive, VMs only, projected columns', () => {
    expect(runKql(graphQueryForName('web'), rows)).toEqual([
      { id: rows[0].id, name: 'vm-web-01', resourceGroup: 'rg-a', subscriptionId: 's', location: 'westeurope', osType: 'Windows', powerState: 'PowerState/running', tags: { 'rdp-self-service': 'true' } },
      { id: rows[1].id, name: 'VM-WEB-02', resourceGroup: 'rg-b', subscriptionId: 's', location: 'westeurope', osType: null, powerState: null, tags: null },
    ]);
  });

  test('a resource-group scope narrows the query', () => {
    expect(runKql(graphQueryForName('web', ['RG-B']), rows).map((r) => r.name)).toEqual(['VM-WEB-02']);
  });

  test('text that could break out of the KQL string never reaches a query', () => {
    expect(() => graphQueryForName("x' or 1==1 //")).toThrow(DomainError);
    expect(() => graphQueryForName('')).toThrow(DomainError);
  });
});

describe('a broken connection', () => {
  it('is a server error the user can retry, not an empty Azure error', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const err = toDomainError(reset, { operation: 'findVms' });
    expect(err.code).toBe('server-error');
    expect(err.params).toMatchObject({ network: 'ECONNRESET' });
    expect(isNetworkError(reset)).toBe(true);
    expect(isNetworkError(Object.assign(new Error('x'), { code: 'Conflict', statusCode: 409 }))).toBe(false);
  });
});
