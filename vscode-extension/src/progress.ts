/**
 * Server-initiated work-done progress (window/workDoneProgress/create).
 *
 * vscode-languageclient 9 renders such progress in the status bar
 * (ProgressLocation.Window), where VS Code offers no cancel button. Runs of
 * an OpenProse program are long and cancellable, so this feature replaces
 * the built-in one: cancellable progress is shown as a notification with a
 * Cancel button (which sends window/workDoneProgress/cancel); other progress
 * stays in the status bar as before.
 */
import * as vscode from 'vscode';
import {
  ClientCapabilities,
  FeatureState,
  ProgressToken,
  StaticFeature,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateParams,
  WorkDoneProgressCreateRequest,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import type { BaseLanguageClient } from 'vscode-languageclient/node';

class ProgressPart {
  private progress?: vscode.Progress<{ message?: string; increment?: number }>;
  private resolve?: () => void;
  private reported = 0;
  private finished = false;
  private readonly listeners: vscode.Disposable[] = [];

  constructor(
    private readonly client: BaseLanguageClient,
    private readonly token: ProgressToken,
    private readonly onDone: (part: ProgressPart) => void,
  ) {
    this.listeners.push(
      client.onProgress(WorkDoneProgress.type, token, (value) => {
        switch (value.kind) {
          case 'begin':
            this.begin(value);
            break;
          case 'report':
            this.report(value);
            break;
          case 'end':
            this.done();
            break;
        }
      }),
    );
  }

  private begin(params: WorkDoneProgressBegin): void {
    if (this.finished) {
      return;
    }
    const cancellable = params.cancellable === true;
    void vscode.window.withProgress(
      {
        location: cancellable ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window,
        title: params.title,
        cancellable,
      },
      (progress, cancellation) => {
        if (this.finished) {
          return Promise.resolve();
        }
        this.progress = progress;
        this.listeners.push(
          cancellation.onCancellationRequested(() => {
            void this.client
              .sendNotification(WorkDoneProgressCancelNotification.type, { token: this.token })
              .catch(() => undefined);
          }),
        );
        this.report(params);
        return new Promise<void>((resolve) => {
          this.resolve = resolve;
        });
      },
    );
  }

  private report(params: WorkDoneProgressBegin | WorkDoneProgressReport): void {
    if (!this.progress) {
      return;
    }
    if (typeof params.percentage === 'number') {
      const percentage = Math.max(0, Math.min(params.percentage, 100));
      const delta = Math.max(0, percentage - this.reported);
      this.reported += delta;
      this.progress.report({ message: params.message, increment: delta });
    } else if (typeof params.message === 'string') {
      this.progress.report({ message: params.message });
    }
  }

  done(): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    for (const listener of this.listeners) {
      listener.dispose();
    }
    this.listeners.length = 0;
    this.resolve?.();
    this.resolve = undefined;
    this.onDone(this);
  }
}

export class NotificationProgressFeature implements StaticFeature {
  private readonly parts = new Set<ProgressPart>();
  private registration?: vscode.Disposable;

  constructor(private readonly client: BaseLanguageClient) {}

  getState(): FeatureState {
    return { kind: 'window', id: WorkDoneProgressCreateRequest.method, registrations: this.parts.size > 0 };
  }

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    capabilities.window = capabilities.window ?? {};
    capabilities.window.workDoneProgress = true;
  }

  initialize(): void {
    this.registration?.dispose();
    this.registration = this.client.onRequest(
      WorkDoneProgressCreateRequest.type,
      (params: WorkDoneProgressCreateParams) => {
        this.parts.add(new ProgressPart(this.client, params.token, (part) => this.parts.delete(part)));
      },
    );
  }

  clear(): void {
    for (const part of [...this.parts]) {
      part.done();
    }
    this.parts.clear();
  }
}
