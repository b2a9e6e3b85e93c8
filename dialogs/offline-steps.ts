import type { OfflineStep } from '../cards/diagnosis';
import type { Translate } from '../services/i18n';
import { offlineRepairScripts } from '../services/runbook/offline';

/** The runbook's offline repair guide for a drive letter, as card steps in the user's language. */
export function offlineGuide(t: Translate, driveLetter: string): { drive: string; title: string; intro: string; steps: OfflineStep[] } {
  const guide = offlineRepairScripts(driveLetter);
  return {
    drive: guide.drive,
    title: t(guide.titleKey),
    intro: t(guide.introKey, { drive: guide.drive }),
    steps: guide.steps.map((s, i) => ({ title: `${i + 1}. ${t(s.titleKey)}`, code: s.script ?? undefined })),
  };
}
