import type { Translate } from '../services/i18n';
import type { Symptom } from '../services/incidents/model';
import type { VmLine } from './diagnosis';
import { asAttachment, bind, markdownSafe, md, type CardJson } from './render';
import vmTemplate from './templates/vm.json';
import diagnoseMessageTemplate from './templates/diagnose-message.json';

/** The message extension's cards (issue #17, docs/teams-surfaces.md): the shared VM card and the "Diagnose RDP" dialog. */

/** A VM as the cards show it: the same line as the consent and pick cards (cards/diagnosis.ts). */
export type VmCardLine = VmLine;

const POWER = new Set(['running', 'stopped', 'deallocated', 'starting', 'stopping', 'deallocating']);

/** The power state in the reader's words ("power state not known" when Azure did not say). */
export function powerText(t: Translate, powerState: string | undefined): string {
  const state = (powerState ?? '').replace(/^PowerState\//i, '').toLowerCase();
  return t(`msgext.power.${POWER.has(state) ? state : 'unknown'}`);
}

/**
 * The card a search inserts into a chat or channel: the VM, and **Diagnose** (verb `vm.diagnose`
 * with the VM's resource id), which starts the consent flow for whoever clicks it.
 */
export function vmCard(raw: Translate, vm: VmCardLine): CardJson {
  const t = markdownSafe(raw);
  return bind(vmTemplate, {
    vm: {
      id: vm.id,
      resourceGroup: md(vm.resourceGroup),
      subscriptionId: md(vm.subscriptionId),
      location: md(vm.location ?? ''),
      power: powerText(raw, vm.powerState),
    },
    s: {
      title: t('msgext.card.title', { vm: vm.name }),
      resourceGroup: raw('msgext.card.resourceGroup'),
      subscription: raw('msgext.card.subscription'),
      location: raw('msgext.card.location'),
      power: raw('msgext.card.power'),
      explain: raw('msgext.card.explain'),
      diagnose: raw('msgext.card.diagnose'),
    },
  });
}

/**
 * A search result: the VM card as an attachment, with a thumbnail card (name; resource group and
 * power state) as its preview in the result list.
 */
export function vmResult(t: Translate, vm: VmCardLine): ReturnType<typeof asAttachment> & { preview: { contentType: string; content: { title: string; text: string } } } {
  const preview = {
    contentType: 'application/vnd.microsoft.card.thumbnail',
    content: { title: vm.name, text: t('msgext.search.preview', { resourceGroup: vm.resourceGroup, power: powerText(t, vm.powerState) }) },
  };
  return { ...asAttachment(vmCard(t, vm)), preview };
}

/** Longest excerpt of the message the dialog shows (four lines of a phone's width or so). */
const EXCERPT_CHARS = 300;

/**
 * The "Diagnose RDP" dialog: the message (an excerpt), what it reads as, the VMs it names to
 * choose from (or none), a box to type another, and an error line when a submit was refused.
 * The submit carries only the inputs and the symptom read; the bot checks both again.
 */
export function diagnoseMessageCard(
  raw: Translate,
  d: { text: string; symptom: Symptom; vms: VmCardLine[]; question: string; error?: string; typed?: string; typeLabel: string },
): CardJson {
  const t = markdownSafe(raw);
  const excerpt = d.text.length > EXCERPT_CHARS ? `${d.text.slice(0, EXCERPT_CHARS - 1)}…` : d.text;
  const stated = d.symptom !== 'not-stated' && d.symptom !== 'generic' && d.symptom !== 'other';
  return bind(diagnoseMessageTemplate, {
    excerpt: md(excerpt),
    symptom: d.symptom,
    typed: d.typed ?? '',
    choices: d.vms.map((v) => ({ title: `${v.name} (${v.resourceGroup}, ${powerText(raw, v.powerState)})`, value: v.id })),
    s: {
      error: d.error ? md(d.error) : '',
      message: raw('msgext.action.message'),
      symptom: stated ? t('msgext.action.symptom', { symptom: raw(`symptoms.${d.symptom}`) }) : '',
      question: md(d.question),
      typeLabel: d.typeLabel,
      typePlaceholder: raw('msgext.action.typePlaceholder'),
      submit: raw('msgext.action.submit'),
    },
  });
}
