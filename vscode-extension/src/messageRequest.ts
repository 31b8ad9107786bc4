/**
 * How the extension shows `window/showMessageRequest` from the OpenProse
 * server. Free of `vscode` imports so it is unit-tested directly.
 *
 * The server asks one kind of question: may a tool call that its program's
 * permissions mark `prompt` go ahead? It sends the actions "Allow", "Allow
 * All This Run" and "Deny", and the run waits for the answer. vscode-languageclient would show
 * such a request as an ordinary notification, which hides itself after a few
 * seconds while the run keeps waiting; a permission question is shown as a
 * modal dialog instead, so it cannot be missed. Escape stands for "Deny". Any other request keeps the
 * client's usual notification.
 */

export interface MessageAction {
  title: string;
}

export interface MessageRequest {
  type: number;
  message: string;
  actions?: MessageAction[] | null;
}

export const ALLOW = 'Allow';
export const ALLOW_RUN = 'Allow All This Run';
export const DENY = 'Deny';

/** LSP MessageType values. */
export const MessageKind = { error: 1, warning: 2, info: 3, log: 4, debug: 5 } as const;

export interface Presentation {
  modal: boolean;
  severity: 'error' | 'warning' | 'info';
  message: string;
  detail?: string;
  actions: MessageAction[];
  /** The action that Escape (closing the dialog) stands for; VS Code then adds no Cancel button. */
  closeAffordance?: string;
}

/** True for the server's permission questions: Allow first, Deny last, nothing but those and Allow All This Run. */
export function isPermissionQuestion(params: MessageRequest): boolean {
  const titles = (params.actions ?? []).map((action) => action.title);
  return (
    titles.length >= 2 &&
    titles[0] === ALLOW &&
    titles[titles.length - 1] === DENY &&
    titles.every((title) => title === ALLOW || title === ALLOW_RUN || title === DENY)
  );
}

/** `OpenProse (fix.prose): Allow …?` -> the program name and the question. */
function splitQuestion(message: string): { program?: string; question: string } {
  const match = /^OpenProse \(([^)]*)\): ([\s\S]*)$/.exec(message);
  return match ? { program: match[1], question: match[2] } : { question: message };
}

export function presentMessageRequest(params: MessageRequest): Presentation {
  const severity = params.type === MessageKind.error ? 'error' : params.type === MessageKind.warning ? 'warning' : 'info';
  const actions = (params.actions ?? []).filter((action) => typeof action?.title === 'string');
  if (!isPermissionQuestion(params)) {
    return { modal: false, severity, message: params.message, actions };
  }
  const { program, question } = splitQuestion(params.message);
  const detail = [
    program ? `The run of ${program} waits for your answer.` : 'The run waits for your answer.',
    'Deny (or closing this dialog) refuses this one call, and the session is told so. ' +
      `${ALLOW_RUN} allows this call and every later one of this run without asking. ` +
      "To allow such calls for good, set the agent's permissions: in the program.",
  ].join('\n\n');
  return { modal: true, severity: 'warning', message: `OpenProse: ${question}`, detail, actions, closeAffordance: DENY };
}
