import type { Translate } from '../services/i18n';
import type { DiagnosisRecord } from '../services/incidents/model';
import type { CauseInput } from '../services/runbook/causes';
import { FIXES, isFixId, type FixId } from '../services/runbook/fixes';
import { likelyCause, orderBySymptom } from '../services/runbook/symptoms';
import { guidanceFor } from '../services/runbook/causes/guidance';
import { bind, markdownSafe, md, type CardJson } from './render';
import { scriptView } from './script-view';
import { DIALOG_FIXES } from './dialog-fixes';
import consentTemplate from './templates/consent.json';
import findingsTemplate from './templates/findings.json';
import messageTemplate from './templates/message.json';
import offlineTemplate from './templates/offline-guide.json';
import progressTemplate from './templates/progress.json';
import pickTemplate from './templates/vm-pick.json';

export interface VmLine {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location?: string;
  /** ARM's code (`PowerState/running`) or the bare state (`running`); absent when not known */
  powerState?: string;
}

export function consentCard(
  raw: Translate,
  d: { incidentId: string; vm: VmLine; symptom: string; script: string; publicBaseUrl: string },
): CardJson {
  const t = markdownSafe(raw);
  return bind(consentTemplate, {
    incidentId: d.incidentId,
    vm: { ...d.vm, name: md(d.vm.name), resourceGroup: md(d.vm.resourceGroup), subscriptionId: md(d.vm.subscriptionId), location: md(d.vm.location ?? ''), powerState: md(d.vm.powerState ?? '') },
    symptom: t(`symptoms.${d.symptom}`),
    script: scriptView(t, d.publicBaseUrl, d.script),
    s: {
      title: t('consent.title', { vm: d.vm.name }),
      vm: t('consent.vm'),
      resourceGroup: t('consent.resourceGroup'),
      subscription: t('consent.subscription'),
      symptom: t('consent.symptom'),
      explain: t('consent.explain'),
      readOnly: t('consent.readOnly'),
      showScript: t('consent.showScript'),
      viewScript: t('teams.script.view'),
      run: t('consent.run'),
      cancel: t('consent.cancel'),
    },
  });
}

export function vmPickCard(raw: Translate, d: { incidentId: string; query: string; vms: VmLine[] }): CardJson {
  const t = markdownSafe(raw);
  const card = (key: string) =>
    bind(pickTemplate, {
      incidentId: d.incidentId,
      vms: d.vms.map((v) => ({
        id: v.id,
        name: md(v.name),
        detail: t(key, { resourceGroup: v.resourceGroup, location: v.location ?? '', subscription: v.subscriptionId }),
      })),
      s: { title: t('pick.title', { query: d.query, count: d.vms.length }), explain: t('pick.explain'), choose: t('pick.choose') },
    });
  // ten VMs with long names: the subscription (in each resource id anyway) goes first
  const full = card('pick.detail');
  return utf16Bytes(full) <= CARD_BUDGET_BYTES ? full : card('teams.pick.detailShort');
}

export type ProgressStep = 'precheck' | 'runCommand' | 'analysis';
const STEPS: ProgressStep[] = ['precheck', 'runCommand', 'analysis'];

export function progressCard(raw: Translate, d: { vmName: string; current: ProgressStep }): CardJson {
  const t = markdownSafe(raw);
  const at = STEPS.indexOf(d.current);
  return bind(progressTemplate, {
    steps: STEPS.map((step, i) => ({
      mark: i < at ? '✔' : i === at ? '▶' : '○',
      color: i < at ? 'Good' : i === at ? 'Accent' : 'Default',
      weight: i === at ? 'Bolder' : 'Default',
      text: t(`progress.${step}`),
    })),
    s: { title: t('progress.title', { vm: d.vmName }), note: t('progress.note') },
  });
}

// never "Warning": yellow on a light theme is unreadable (2.4:1 in the default host config); a warning's title is bold in the default color
const SEVERITY_COLOR: Record<string, string> = { blocker: 'Attention', critical: 'Attention', warning: 'Default', info: 'Accent' };

/** The inputs a fix's request form shows (its cause module's `inputs`), as the template's generic input elements bind them. */
type InputData = Record<string, unknown> & { type: CauseInput['type']; isRequired?: boolean; choices?: { title: string; value: string }[] };

function inputsOf(t: Translate, inputs: readonly CauseInput[], facts: DiagnosisRecord['facts']): InputData[] {
  return inputs.map((i): InputData => {
    switch (i.type) {
      case 'text':
        return { type: i.type, id: i.id, label: t(i.labelKey), placeholder: i.placeholder ?? '', errorMessage: t(i.errorKey), regex: i.regex, maxLength: i.maxLength };
      case 'number':
        return { type: i.type, id: i.id, label: t(i.labelKey), placeholder: i.placeholder ?? '', errorMessage: t(i.errorKey), min: i.min, max: i.max };
      case 'toggle':
        return { type: i.type, id: i.id, label: t(i.labelKey), value: i.default ? 'true' : 'false' };
      case 'choice': {
        const choices = i.choicesFrom ? i.choicesFrom(facts ?? null).map((v) => ({ title: v, value: v })) : (i.choices ?? []).map((c) => ({ title: t(c.labelKey), value: c.value }));
        return { type: i.type, id: i.id, label: t(i.labelKey), isRequired: i.errorKey !== undefined, errorMessage: i.errorKey ? t(i.errorKey) : '', value: i.default ?? choices[0]?.value ?? '', choices };
      }
    }
  });
}

/** The offline repair (issue #15) is offered beside the offline guide, not among the fixes run inside the VM. */
export const OFFLINE_REPAIR_FIX = 'offline-repair';

/** The fixes a findings card offers to request, with what each needs from the requester. */
function fixActions(t: Translate, diagnosis: DiagnosisRecord) {
  return diagnosis.fixes
    .filter((f) => f.id !== OFFLINE_REPAIR_FIX && isFixId(f.id) && FIXES[f.id as FixId].addresses.length > 0)
    .map((f) => ({ f, def: FIXES[f.id as FixId] }))
    .map(({ f, def }) => ({ f, def, inputs: inputsOf(t, def.inputs, diagnosis.facts) }))
    // a required choice with nothing to choose (no service holds the port): the fix cannot be requested here
    .filter(({ inputs }) => inputs.every((i) => i.type !== 'choice' || !i.isRequired || (i.choices ?? []).length > 0))
    .map(({ f, def, inputs }) => ({
      fixId: f.id,
      title: t(`fixes.${f.id}.title`),
      description: t(`fixes.${f.id}.description`),
      facts: t('fixes.meta', { risk: t(`fixes.risk.${def.risk}`), restart: t(def.needsRestart ? 'common.yes' : 'common.no') }),
      inputs,
      // issue #17 (dialogs): a parameter that needs thought also opens a dialog that explains it
      dialog: (DIALOG_FIXES as readonly string[]).includes(f.id),
    }));
}

/** What a card may weigh, as Teams measures a message (UTF-16), leaving room for the activity around it. */
export const CARD_BUDGET_BYTES = 26 * 1024;

/** How much of each finding a findings card shows: everything, then less until it fits in a Teams message. */
type Detail = 'full' | 'noExplain' | 'firstEvidence';

/** Evidence that names addresses and network rules: shown to approvers, not to self-service users. */
export const DETAILED_EVIDENCE = /^runbook\.evidence\.(failedLogonSource|nsg[A-Za-z]*)$/;

type FindingsData = {
  incidentId: string;
  diagnosis: DiagnosisRecord;
  requestable?: boolean;
  plain?: boolean;
  /** what the user sees: orders the findings within a severity and names the likely cause (issue #14 item 5) */
  symptom?: string;
  /** issue #17 (dialogs): a line saying which fix was requested from this card (a dialog closed) */
  requested?: string;
};

export function findingsCard(raw: Translate, d: FindingsData): CardJson {
  const t = markdownSafe(raw);
  const fits = (c: CardJson) => utf16Bytes(c) <= CARD_BUDGET_BYTES;
  let card = findingsCardAt(t, d, 'full');
  for (const detail of ['noExplain', 'firstEvidence'] as const) {
    if (fits(card)) return card;
    card = findingsCardAt(t, d, detail);
  }
  // the last resort: the evidence of the last findings (the least severe) is left out, their titles stay
  for (let withEvidence = d.diagnosis.findings.length - 1; !fits(card) && withEvidence >= 0; withEvidence--) {
    card = findingsCardAt(t, d, 'firstEvidence', withEvidence);
  }
  // still too heavy (many findings, each with fixes): the fixes of the last findings wait for the next diagnosis
  for (let maxFixes = d.diagnosis.fixes.length - 1; !fits(card) && maxFixes >= 1; maxFixes--) {
    card = findingsCardAt(t, d, 'firstEvidence', 0, maxFixes);
  }
  return card;
}

/** A card's weight as Teams measures a message: its JSON in UTF-16. */
export function utf16Bytes(card: unknown): number {
  return JSON.stringify(card).length * 2;
}

/** `t` is already markdown-safe (findingsCard). */
function findingsCardAt(t: Translate, d: FindingsData, detail: Detail, withEvidence = Infinity, maxFixes = Infinity): CardJson {
  const evidenceOf = (f: DiagnosisRecord['findings'][number]): string[] => {
    if (!d.plain) return f.evidence.map((e) => t(e.key, e.params));
    const shown = f.evidence.filter((e) => !DETAILED_EVIDENCE.test(e.key)).map((e) => t(e.key, e.params));
    return shown.length < f.evidence.length ? [...shown, t('card.detailsForHelpdesk')] : shown;
  };
  const diagnosis = { ...d.diagnosis, findings: orderBySymptom(d.diagnosis.findings, d.symptom) };
  const blocked = diagnosis.findings.some((f) => f.severity === 'blocker');
  const likely = blocked ? null : likelyCause(diagnosis.findings, d.symptom);
  const agentDown = diagnosis.findings.some((f) => f.id === 'vm-agent-not-ready');
  const fixTitles = (findingId: string) =>
    diagnosis.fixes.filter((x) => x.addresses.includes(findingId)).map((x) => t(`fixes.${x.id}.title`));
  const problems = diagnosis.findings.filter((f) => f.severity !== 'info');
  const summaryKey = blocked ? 'findings.summaryBlocked' : problems.length ? 'findings.summary' : 'findings.summaryHealthy';
  const details = (f: DiagnosisRecord['findings'][number]): string => {
    const evidence = evidenceOf(f);
    const shown = detail === 'firstEvidence' && evidence.length > 1 ? [...evidence.slice(0, 1), t('teams.findings.moreEvidence', { count: evidence.length - 1 })] : evidence;
    const fixes = fixTitles(f.id);
    return [
      `${t('findings.evidence')}:`,
      ...shown.map((line) => `- ${line}`),
      ...(fixes.length ? [`${t('findings.fixes')}: ${fixes.join('; ')}`] : []),
    ].join('\n');
  };
  // §1b (famhost): a finding without a safe fix says what to do, by whom, and links the Microsoft article
  // (the steps only at full detail; none past the findings that keep their evidence: the card must fit)
  const guide = (findingId: string, i: number) => {
    const g = guidanceFor(findingId);
    if (!g || i >= withEvidence) return { guideUrl: '', guideTitle: '', guideBy: '', guideSteps: '', guideLink: '' };
    return {
      guideUrl: g.article,
      guideTitle: t('guidance.title'),
      guideBy: t('guidance.by', { who: t(`guidance.who.${g.who}`) }),
      guideSteps: detail === 'full' ? t(g.textKey) : '',
      guideLink: t('guidance.article'),
    };
  };
  const offered = d.requestable === false ? [] : fixActions(t, diagnosis).map((f) => (detail === 'firstEvidence' ? { ...f, description: '' } : f));
  // issue #15: "Repair offline (rescue VM)", the normal fix request (no parameters), beside the offline guide
  const repairDef = (FIXES as Record<string, { risk: string } | undefined>)[OFFLINE_REPAIR_FIX];
  const repairOffer =
    agentDown && d.requestable !== false && diagnosis.fixes.some((f) => f.id === OFFLINE_REPAIR_FIX)
      ? { explain: detail === 'full' ? t('repair.offer.explain') : '', facts: t('repair.offer.facts', { risk: t(`fixes.risk.${repairDef?.risk ?? 'high'}`) }) }
      : null;
  return bind(findingsTemplate, {
    incidentId: d.incidentId,
    offlineGuide: agentDown,
    repairOffer,
    repairFixId: OFFLINE_REPAIR_FIX,
    fixActions: offered.slice(0, maxFixes),
    summaryColor: blocked || problems.length ? 'Attention' : 'Good',
    findings: diagnosis.findings.map((f, i) => ({
      id: f.id,
      severityLabel: t(`severity.${f.severity}`),
      color: SEVERITY_COLOR[f.severity] ?? 'Default',
      title: t(`findings.${f.id}.title`),
      explain: detail === 'full' ? t(`findings.${f.id}.explain`) : '',
      details: i < withEvidence ? details(f) : '',
      ...guide(f.id, i),
    })),
    s: {
      title: t('findings.title', { vm: diagnosis.vm.name }),
      // nothing explains the error: say what else to check (the client, the VPN, the account)
      summary: summaryKey === 'findings.summaryHealthy' ? `${t(summaryKey)}\n\n${t('chat.healthyNext')}` : t(summaryKey, { count: problems.length }),
      shortened: detail === 'full' ? '' : t('teams.findings.shortened'),
      likely: likely ? t('intake.likelyCause', { symptom: t(`symptoms.${d.symptom}`), finding: t(`findings.${likely.id}.title`) }) : '',
      noFindings: t('findings.none'),
      stats: t('findings.stats', {
        runCommands: diagnosis.runCommandCalls,
        armCalls: diagnosis.armCalls,
        // a number: the translator writes it with the reader's decimal separator
        seconds: Math.round(diagnosis.elapsedMs / 100) / 10,
        at: diagnosis.at,
      }),
      offlineButton: t('offline.button'),
      repairOffer: t('repair.offer.title'),
      repairNoBoot: t('repair.offer.noBoot'),
      offlineAsk: t('offline.ask'),
      driveLabel: t('offline.driveLabel'),
      driveError: t('offline.driveError'),
      offlineShow: t('offline.show'),
      again: t('findings.again'),
      fixesTitle: t('fixes.sectionTitle'),
      fixesIntro: t('fixes.sectionIntro'),
      fixesMore: offered.length > maxFixes ? t('teams.findings.moreFixes', { count: offered.length - maxFixes }) : '',
      request: t('fixes.request'),
      requestShort: t('fixes.requestShort'),
      requestDialog: t('dialogs.fix.open'),
      requested: d.requested ?? '',
    },
  });
}

export function messageCard(d: {
  title: string;
  text: string;
  ref?: string;
  tone?: 'good' | 'warning' | 'attention' | 'default';
  /** offers to run the incident's diagnosis again */
  retry?: { incidentId: string; title: string };
  /** the whole width of the conversation in Teams (listings with long lines: history, status) */
  fullWidth?: boolean;
  /** offers the next (older) page of a VM's history */
  older?: { vmId: string; beforeSeq: number; title: string };
}): CardJson {
  const color = { good: 'Good', warning: 'Default', attention: 'Attention', default: 'Default' }[d.tone ?? 'default'];
  const card = bind(messageTemplate, { title: d.title, text: d.text, ref: d.ref ?? '', color, retryIncidentId: d.retry?.incidentId ?? '', retryTitle: d.retry?.title ?? '',
    olderVmId: d.older?.vmId ?? '', olderBefore: String(d.older?.beforeSeq ?? ''), olderTitle: d.older?.title ?? '' });
  if (Array.isArray(card.actions) && card.actions.length === 0) delete card.actions;
  if (d.fullWidth) card.msteams = { width: 'Full' };
  return card;
}

export interface OfflineStep {
  title: string;
  text?: string;
  code?: string;
}

export function offlineGuideCard(t: Translate, d: { title: string; intro: string; steps: OfflineStep[]; publicBaseUrl: string }): CardJson {
  return bind(offlineTemplate, {
    steps: d.steps.map((s) => ({ title: s.title, text: s.text ?? '', script: s.code ? scriptView(t, d.publicBaseUrl, s.code) : null })),
    s: { title: d.title, intro: d.intro, viewScript: t('teams.script.view') },
  });
}
