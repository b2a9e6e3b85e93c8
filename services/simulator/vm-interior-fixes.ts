import { createHash } from 'node:crypto';
import type { ScriptParameter } from '../azure/gateway';
import type { FleetVm, WindowsState } from './fleet';
import type { InteriorResult } from './interior';
import { CAPS, RDP_SERVICES, policyEntryOf, toPsJson } from '../runbook/diagnostic-output';
import { decodeParam } from '../runbook/scripts';
import { onNextRestart } from './vm-interior';

/**
 * The emulation of the fix scripts: the change each makes inside the VM's fleet `windows` state and
 * the JSON status line it prints. Kept equal to the real scripts under the modelled Windows by the
 * differential suite.
 */
type Status = Record<string, unknown>;
const SAFE_SERVICE = /^[A-Za-z0-9_.$ -]{1,80}$/;
const RDP_KEY_FILE_ACL = ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'];

function param(ps: ScriptParameter[], name: string, fallback: string): string {
  const p = ps.find((x) => x.name.toLowerCase() === name.toLowerCase());
  return p === undefined ? fallback : p.value;
}

function printed(status: Status, changed: boolean, restartPending = false): InteriorResult {
  return { stdout: `${toPsJson(status)}\r\n`, stderr: '', changed, restartPending: restartPending || undefined };
}

function termListening(w: WindowsState): boolean {
  return w.services.TermService === 'Running' && w.listeners.some((l) => l.port === w.rdpPort && l.services.includes('TermService'));
}

/** TermService (re)started: it takes the RDP port unless another process holds it. */
function startTermService(w: WindowsState): void {
  w.services.TermService = 'Running';
  if (w.services.UmRdpService !== 'Disabled') w.services.UmRdpService = 'Running';
  w.listeners = w.listeners.filter((l) => !l.services.includes('TermService'));
  if (!w.listeners.some((l) => l.port === w.rdpPort)) {
    w.listeners.push({ port: w.rdpPort, pid: 1104, process: 'svchost', services: ['TermService'] });
  }
}

function clearEvents(w: WindowsState, ids: string[]): void {
  for (const id of ids) if (w.events24h[id] !== undefined) w.events24h[id] = 0;
}

function setAcl(acl: string[], grants: string[]): string[] {
  const sids = new Set(grants.map((g) => g.split(':')[0]));
  return [...grants, ...acl.filter((e) => !sids.has(e.split(':')[0]))];
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

const policyTouches = (w: WindowsState, fragment: string): string[] =>
  w.policyManagedKeys.filter((k) => k.toLowerCase().includes(fragment.toLowerCase()));

/** The change each fix script makes inside the VM, and the JSON status line it prints. */
export function runFixInside(vm: FleetVm, w: WindowsState, scriptId: string, ps: ScriptParameter[], now: Date): InteriorResult {
  switch (scriptId) {
    case 'fix-free-rdp-port': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', service: null, stopped: false, disabled: false, listening: false, step: null };
      let name = '';
      try {
        name = decodeParam(param(ps, 'Service', ''));
      } catch {
        name = '';
      }
      if (!SAFE_SERVICE.test(name) || (RDP_SERVICES as readonly string[]).includes(name)) {
        return printed({ ...st, status: 'bad-param', step: 'service' }, false);
      }
      st.service = name;
      const holds = w.listeners.some((l) => l.services.includes(name));
      if (!holds && w.services[name] === undefined) return printed({ ...st, status: 'service-not-found', step: 'lookup' }, false);
      w.listeners = w.listeners.filter((l) => !l.services.includes(name));
      w.services[name] = param(ps, 'Disable', '0') === '1' ? 'Disabled' : 'Stopped';
      st.stopped = true;
      st.disabled = w.services[name] === 'Disabled';
      startTermService(w);
      st.listening = termListening(w);
      st.ok = st.listening;
      st.status = st.listening ? 'done' : 'not-listening';
      return printed(st, true);
    }
    case 'fix-change-rdp-port': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', oldPort: null, port: null, firewall: null, listening: false, step: null };
      const raw = param(ps, 'Port', '');
      const port = /^[0-9]{4,5}$/.test(raw) ? Number(raw) : 0;
      if (port < 1025 || port > 65535) return printed({ ...st, status: 'bad-param', step: 'port' }, false);
      st.port = port;
      st.oldPort = w.rdpPort;
      if (port !== w.rdpPort && w.listeners.some((l) => l.port === port && !l.services.includes('TermService'))) {
        return printed({ ...st, status: 'port-in-use', step: 'check' }, false);
      }
      w.rdpPort = port;
      st.firewall = w.firewallRdpRule ? 'updated' : 'created';
      w.firewallRdpRule = { enabled: true, localPort: port };
      startTermService(w);
      st.listening = termListening(w);
      st.ok = st.listening;
      st.status = st.listening ? 'done' : 'not-listening';
      return printed(st, true);
    }
    case 'fix-start-termservice': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', action: 'none', port: w.rdpPort, listening: false, step: null };
      const wasRunning = w.services.TermService === 'Running';
      const wasListening = termListening(w);
      if (!wasRunning) st.action = 'started';
      else if (!wasListening) st.action = 'restarted';
      startTermService(w);
      st.listening = termListening(w);
      st.ok = st.listening;
      st.status = st.listening ? 'done' : 'not-listening';
      return printed(st, st.action !== 'none');
    }
    case 'fix-fix-firewall-rule': {
      const st: Status = { id: scriptId, ok: true, status: 'noop', port: w.rdpPort, action: 'none', policyRule: false, step: null };
      const rule = w.firewallRdpRule;
      // `before`: the rule as it was, for the undo
      st.before = rule ? { exists: true, enabled: rule.enabled, localPort: [String(rule.localPort)] } : { exists: false };
      if (!rule) st.action = 'created';
      else if (!rule.enabled || rule.localPort !== w.rdpPort) st.action = 'updated';
      if (st.action !== 'none') {
        w.firewallRdpRule = { enabled: true, localPort: w.rdpPort };
        st.status = 'done';
      }
      return printed(st, st.action !== 'none');
    }
    case 'fix-renew-rdp-cert': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', hashRemoved: false, removed: 0, customBound: false, thumb: null, step: null };
      if (w.sslCertificateSHA1Hash && w.sslCertificateSHA1Hash.toUpperCase() !== w.rdpCertificate?.thumbprint.toUpperCase()) {
        w.sslCertificateSHA1Hash = null;
        st.hashRemoved = true;
      }
      st.removed = w.rdpCertificate ? 1 : 0;
      w.rdpCertificate = null;
      w.rdpKeyFileAcl = null;
      const canCreateKey = w.machineKeysAcl.some((e) => e === 'S-1-5-32-544:F' || e === 'S-1-5-18:F');
      startTermService(w);
      if (!canCreateKey) {
        w.events24h['1057'] = (w.events24h['1057'] ?? 0) + 1;
        return printed({ ...st, status: 'no-new-cert' }, true);
      }
      // SessionEnv issues a new self-signed certificate, valid for six months, with a fresh key file
      const thumb = createHash('sha1').update(`${vm.name}|${now.toISOString()}`).digest('hex').toUpperCase();
      w.rdpCertificate = { thumbprint: thumb, notAfter: new Date(now.getTime() + 182 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), hasPrivateKey: true };
      w.rdpKeyFileAcl = [...RDP_KEY_FILE_ACL];
      clearEvents(w, ['1057', '1058', '36870', '36872']);
      return printed({ ...st, ok: true, status: 'done', thumb }, true);
    }
    case 'fix-reset-machinekeys-acl': {
      const scope = param(ps, 'Scope', 'rdpkey');
      const st: Status = { id: scriptId, ok: false, status: 'failed', scope: null, backup: null, restore: null, keyFile: null, files: 0, tookOwnership: 0, step: null };
      if (scope !== 'rdpkey' && scope !== 'all') return printed({ ...st, status: 'bad-param', step: 'scope' }, false);
      const backup = `C:\\Windows\\Temp\\rdp-doctor-machinekeys-acl-${stamp(now)}.txt`;
      st.scope = scope;
      st.backup = backup;
      st.restore = `icacls "C:\\ProgramData\\Microsoft\\Crypto\\RSA" /restore "${backup}"`;
      w.machineKeysAcl = setAcl(w.machineKeysAcl, ['S-1-5-32-544:F', 'S-1-5-18:F']);
      if (w.rdpKeyFileAcl) {
        w.rdpKeyFileAcl = setAcl(w.rdpKeyFileAcl, RDP_KEY_FILE_ACL);
        st.keyFile = 'C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\' + (w.rdpCertificate?.thumbprint.slice(0, 32).toLowerCase() ?? 'key') + '_machineguid';
        st.files = 1;
      }
      startTermService(w);
      // errors stop once TermService reads the key after the VM restart
      onNextRestart(vm, (s) => clearEvents(s, ['1057', '1058', '36870', '36872']));
      return printed({ ...st, ok: true, status: st.keyFile || scope === 'all' ? 'done' : 'key-file-not-found' }, true, true);
    }
    case 'fix-enable-tls': {
      const tls10 = param(ps, 'Tls10', '0');
      const tls11 = param(ps, 'Tls11', '0');
      const st: Status = { id: scriptId, ok: false, status: 'failed', changed: [], policy: [], rsop: 'ok', needsRestart: false, step: null };
      if (!['0', '1'].includes(tls10) || !['0', '1'].includes(tls11)) return printed({ ...st, status: 'bad-param' }, false);
      const protos = ['TLS 1.2', ...(tls11 === '1' ? ['TLS 1.1'] : []), ...(tls10 === '1' ? ['TLS 1.0'] : [])];
      const changed: string[] = [];
      const before: Record<string, { Enabled?: number; DisabledByDefault?: number }> = {};
      for (const p of protos) {
        const cur = w.schannelServer[p] ?? {};
        before[p] = { ...cur };
        if (cur.Enabled !== 1 || cur.DisabledByDefault !== 0) {
          w.schannelServer[p] = { Enabled: 1, DisabledByDefault: 0 };
          changed.push(p);
        }
      }
      const policy = policyTouches(w, 'SCHANNEL').map((k) => policyEntryOf(k) ?? k).slice(0, CAPS.policy);
      onNextRestart(vm, (s) => {
        // Group Policy writes its values back at boot; otherwise SCHANNEL now accepts TLS 1.2 and 36871 stops
        for (const p of protos) {
          if (policyTouches(s, `${p}\\Server`).length > 0) s.schannelServer[p] = before[p];
        }
        if (policy.length === 0) clearEvents(s, ['36871']);
      });
      // `before`: the values as they were, for the undo (branch `fixes` makes the real script print them too)
      return printed({ ...st, ok: true, status: changed.length > 0 ? 'done' : 'noop', changed, policy, needsRestart: changed.length > 0, before }, changed.length > 0, changed.length > 0);
    }
    case 'undo-enable-tls': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', changed: [], needsRestart: false, step: null };
      const wanted: Array<[string, 'Enabled' | 'DisabledByDefault', string]> = [];
      for (const [proto, prefix] of [['TLS 1.0', 'Tls10'], ['TLS 1.1', 'Tls11'], ['TLS 1.2', 'Tls12']] as const) {
        for (const name of ['Enabled', 'DisabledByDefault'] as const) wanted.push([proto, name, param(ps, `${prefix}${name}`, 'keep')]);
      }
      if (wanted.some(([, , v]) => v !== 'keep' && v !== 'absent' && !(/^[0-9]{1,10}$/.test(v) && Number(v) <= 4294967295))) return printed({ ...st, status: 'bad-param' }, false);
      const changed: string[] = [];
      for (const [proto, name, v] of wanted) {
        if (v === 'keep') continue;
        const cur = { ...(w.schannelServer[proto] ?? {}) };
        const now = cur[name];
        if (v === 'absent' ? now === undefined : now === Number(v)) continue;
        if (v === 'absent') delete cur[name];
        else cur[name] = Number(v);
        w.schannelServer[proto] = cur;
        changed.push(`${proto}\\${name}`);
      }
      return printed({ ...st, ok: true, status: changed.length > 0 ? 'done' : 'noop', changed, needsRestart: changed.length > 0 }, changed.length > 0, changed.length > 0);
    }
    case 'fix-enable-nla': {
      const st: Status = { id: scriptId, ok: true, status: 'noop', changed: [], policy: [], needsRestart: false, step: null };
      const changed: string[] = [];
      const before = { UserAuthentication: w.rdpTcp.UserAuthentication, fAllowSecProtocolNegotiation: w.rdpTcp.fAllowSecProtocolNegotiation, SecurityLayer: w.rdpTcp.SecurityLayer };
      if (w.rdpTcp.UserAuthentication !== 1) {
        w.rdpTcp.UserAuthentication = 1;
        changed.push('UserAuthentication');
      }
      if (w.rdpTcp.fAllowSecProtocolNegotiation !== 1) {
        w.rdpTcp.fAllowSecProtocolNegotiation = 1;
        changed.push('fAllowSecProtocolNegotiation');
      }
      if (w.rdpTcp.SecurityLayer === 0) {
        w.rdpTcp.SecurityLayer = 1;
        changed.push('SecurityLayer');
      }
      const policy = policyTouches(w, 'Terminal Services')
        .map((k) => policyEntryOf(k))
        .filter((e): e is string => e !== null && /^TS\\(UserAuthentication|SecurityLayer|MinEncryptionLevel)$/.test(e))
        .map((e) => {
          const v = (w.rdpTcp as Record<string, number | undefined>)[e.slice(3)];
          return v === undefined ? e : `${e}=${v}`;
        });
      // `before`: the values as they were (absent ones left out), for the undo
      return printed({ ...st, status: changed.length > 0 ? 'done' : 'noop', changed, policy, needsRestart: changed.length > 0, before }, changed.length > 0, changed.length > 0);
    }
    case 'undo-fix-firewall-rule': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', action: 'none', step: null };
      const exists = param(ps, 'Exists', '1');
      const enabled = param(ps, 'Enabled', 'True');
      const ports = param(ps, 'LocalPort', '');
      if (!['0', '1'].includes(exists) || (exists === '1' && (!['True', 'False'].includes(enabled) || !/^[0-9]{1,5}$/.test(ports)))) return printed({ ...st, status: 'bad-param' }, false);
      if (exists === '0') {
        if (!w.firewallRdpRule) return printed({ ...st, ok: true, status: 'noop' }, false);
        w.firewallRdpRule = null;
        return printed({ ...st, ok: true, status: 'done', action: 'removed' }, true);
      }
      const rule = w.firewallRdpRule;
      if (!rule) return printed({ ...st, status: 'rule-missing', action: 'missing', step: 'missing' }, false);
      if (rule.enabled === (enabled === 'True') && rule.localPort === Number(ports)) return printed({ ...st, ok: true, status: 'noop' }, false);
      w.firewallRdpRule = { enabled: enabled === 'True', localPort: Number(ports) };
      return printed({ ...st, ok: true, status: 'done', action: 'updated' }, true);
    }
    case 'undo-enable-nla': {
      const st: Status = { id: scriptId, ok: false, status: 'failed', changed: [], needsRestart: false, step: null };
      const wanted: Array<['UserAuthentication' | 'fAllowSecProtocolNegotiation' | 'SecurityLayer', string]> = [
        ['UserAuthentication', param(ps, 'UserAuthentication', 'keep')],
        ['fAllowSecProtocolNegotiation', param(ps, 'AllowSecProtocolNegotiation', 'keep')],
        ['SecurityLayer', param(ps, 'SecurityLayer', 'keep')],
      ];
      if (wanted.some(([, v]) => v !== 'keep' && v !== 'absent' && !(/^[0-9]{1,10}$/.test(v) && Number(v) <= 4294967295))) return printed({ ...st, status: 'bad-param' }, false);
      const changed: string[] = [];
      for (const [name, v] of wanted) {
        if (v === 'keep' || (v === 'absent' ? w.rdpTcp[name] === undefined : w.rdpTcp[name] === Number(v))) continue;
        if (v === 'absent') delete w.rdpTcp[name];
        else w.rdpTcp[name] = Number(v);
        changed.push(name);
      }
      return printed({ ...st, ok: true, status: changed.length > 0 ? 'done' : 'noop', changed, needsRestart: changed.length > 0 }, changed.length > 0, changed.length > 0);
    }
    default:
      return { stdout: '', stderr: `unknown script id ${scriptId}`, changed: false };
  }
}
