import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPermissionQuestion, presentMessageRequest } from '../src/messageRequest';

const QUESTION = {
  type: 2,
  message: "OpenProse (fix.prose): Allow agent 'fixer' to use bash: pytest -q?",
  actions: [{ title: 'Allow' }, { title: 'Allow All This Run' }, { title: 'Deny' }],
};

describe('message requests from the server', () => {
  it('shows a permission question as a modal dialog whose Escape means Deny', () => {
    assert.equal(isPermissionQuestion(QUESTION), true);
    const shown = presentMessageRequest(QUESTION);
    assert.equal(shown.modal, true);
    assert.equal(shown.severity, 'warning');
    assert.equal(shown.message, "OpenProse: Allow agent 'fixer' to use bash: pytest -q?");
    assert.match(shown.detail ?? '', /The run of fix\.prose waits for your answer/);
    assert.match(shown.detail ?? '', /permissions:/);
    assert.deepEqual(
      shown.actions.map((a) => a.title),
      ['Allow', 'Allow All This Run', 'Deny'],
    );
    assert.match(shown.detail ?? '', /Allow All This Run allows this call and every later one of this run/);
    assert.equal(shown.closeAffordance, 'Deny');
  });

  it('keeps other requests as ordinary notifications', () => {
    const other = { type: 3, message: 'Pick one', actions: [{ title: 'A' }, { title: 'B' }] };
    assert.equal(isPermissionQuestion(other), false);
    assert.deepEqual(presentMessageRequest(other), { modal: false, severity: 'info', message: 'Pick one', actions: other.actions });
    assert.equal(isPermissionQuestion({ type: 2, message: 'x', actions: [{ title: 'Allow' }, { title: 'Deny' }] }), true);
    assert.equal(isPermissionQuestion({ type: 2, message: 'x', actions: [{ title: 'Deny' }, { title: 'Allow' }] }), false);
    assert.equal(
      isPermissionQuestion({ type: 2, message: 'x', actions: [{ title: 'Allow' }, { title: 'Maybe' }, { title: 'Deny' }] }),
      false,
    );
    assert.equal(isPermissionQuestion({ type: 2, message: 'x', actions: null }), false);
    assert.equal(presentMessageRequest({ type: 1, message: 'x' }).severity, 'error');
  });

  it('words a question that does not name its program', () => {
    const shown = presentMessageRequest({ ...QUESTION, message: 'Allow a session to use write: out/a.md?' });
    assert.equal(shown.message, 'OpenProse: Allow a session to use write: out/a.md?');
    assert.match(shown.detail ?? '', /^The run waits for your answer\./);
  });
});
