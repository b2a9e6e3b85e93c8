/**
 * The fixes whose parameter needs explaining (issue #17): the findings card offers a dialog for
 * them (cards/dialogs.ts) beside the inline inputs. On its own so the findings card's binder
 * needs nothing else of the dialogs.
 */
export const DIALOG_FIXES = ['restrict-rdp-source', 'change-rdp-port'] as const;
export type DialogFixId = (typeof DIALOG_FIXES)[number];

export function isDialogFix(fixId: string): fixId is DialogFixId {
  return (DIALOG_FIXES as readonly string[]).includes(fixId);
}
