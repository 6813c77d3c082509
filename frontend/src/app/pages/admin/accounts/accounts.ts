import { DatePipe } from '@angular/common';
import {
  afterRenderEffect,
  ChangeDetectionStrategy,
  Component,
  type ElementRef,
  inject,
  signal,
  viewChild,
} from '@angular/core';
import { takeUntilDestroyed, toSignal } from '@angular/core/rxjs-interop';
import { FormBuilder, ReactiveFormsModule, Validators } from '@angular/forms';
import { ActivatedRoute, Router } from '@angular/router';
import { StorageAccountsService } from '../../../core/admin/storage-accounts.service';
import type {
  NewAccount,
  Provider,
  StorageAccount,
} from '../../../core/admin/storage-accounts.types';
import { BrowserLocation } from '../../../core/browser/browser-location';
import { formatBytes } from '../../../core/format/bytes';
import { FormSubmission } from '../../../core/forms/form-submission';
import { apiErrorCode, apiErrorMessage } from '../../../core/http/api-error';
import { StackedBar } from '../../../shared/stacked-bar';

const GiB = 1024 ** 3;

export const PROVIDER_LABELS: Record<Provider, string> = {
  gdrive: 'Google Drive',
  webdav: 'WebDAV',
  local: 'Local disk',
};

const CIRCUIT_LABELS = {
  closed: 'circuit closed',
  open: 'circuit open: paused after failures',
  half_open: 'circuit half-open: testing again',
} as const;

/** "12 GiB used + 1 GiB reserved of 2 TiB" — or "… (unlimited)" when the member reports no limit. */
export function spaceText(quota: StorageAccount['quota']): string {
  const used = `${formatBytes(quota.used)} used + ${formatBytes(quota.reserved)} reserved`;
  return quota.limit === null ? `${used} (unlimited)` : `${used} of ${formatBytes(quota.limit)}`;
}

/** "3 GiB of 698.5 GiB cap" or "3 GiB (no cap)". */
export function dailyText(account: StorageAccount): string {
  const uploaded = formatBytes(account.uploadedLast24h);
  return account.dailyCap === null
    ? `${uploaded} (no cap)`
    : `${uploaded} of ${formatBytes(account.dailyCap)} cap`;
}

interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

interface Removal {
  account: StorageAccount;
  /** The server's 409 `account_in_use` message, once it refused a plain removal. */
  inUse: string | null;
}

/**
 * The pool's storage accounts (admin only): live numbers, enable/disable,
 * drain, check now, remove (force only after the server says files live
 * there), add one per provider, or connect a Google account through Google's
 * consent page, which returns here with `?connected=<id>` or `?error=<code>`.
 */
@Component({
  selector: 'app-accounts-page',
  imports: [ReactiveFormsModule, DatePipe, StackedBar],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card full">
      <div class="title-row">
        <h1>Storage accounts</h1>
        <button type="button" class="small" (click)="load()" [disabled]="loading()">Refresh</button>
      </div>
      <div aria-live="polite">
        @if (notice(); as n) {
          @if (n.kind === 'ok') {
            <p class="notice" data-testid="notice">{{ n.text }}</p>
          } @else {
            <p class="error" role="alert" data-testid="notice">{{ n.text }}</p>
          }
        }
      </div>

      @if (removal(); as r) {
        <section
          class="confirm"
          role="alertdialog"
          aria-labelledby="confirm-title"
          aria-describedby="confirm-text"
          data-testid="remove-confirm"
        >
          @if (r.inUse === null) {
            <h2 id="confirm-title">Remove “{{ r.account.name }}”?</h2>
            <p id="confirm-text">
              The gateway stops using this account and forgets its credentials. New uploads go to
              the other accounts.
            </p>
            <div class="buttons">
              <button #confirmFirst type="button" class="small danger" (click)="remove(false)">
                Remove
              </button>
              <button type="button" class="small" (click)="removal.set(null)">Keep it</button>
            </div>
          } @else {
            <h2 id="confirm-title">“{{ r.account.name }}” still holds files</h2>
            <div id="confirm-text">
              <p class="error">{{ r.inUse }}</p>
              <p class="warning">
                <strong>Force removal is not reversible.</strong> Files on this account lose their
                primary copy: they can only be served from a backup, and files without a backup can
                no longer be downloaded. Unfinished uploads move to another account when their
                uploader reconnects.
              </p>
            </div>
            <div class="buttons">
              <button #confirmFirst type="button" class="small" (click)="removal.set(null)">
                Keep it
              </button>
              <button type="button" class="small danger" (click)="remove(true)">
                Force remove
              </button>
            </div>
          }
        </section>
      }

      @if (accounts(); as list) {
        @if (list.length === 0) {
          <p>No storage accounts yet: uploads are refused until one is added.</p>
        } @else {
          <div class="table-wrap">
            <table data-testid="accounts-table">
              <caption class="visually-hidden">
                Storage accounts in the pool
              </caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Health</th>
                  <th scope="col">Space</th>
                  <th scope="col">Uploaded in 24 h</th>
                  <th scope="col">Last check</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                @for (a of list; track a.id) {
                  <tr
                    data-testid="account-row"
                    [attr.data-account-id]="a.id"
                    [class.highlight]="a.id === connectedId()"
                    [attr.aria-busy]="isBusy(a.id)"
                  >
                    <td data-testid="account-provider">{{ providerLabels[a.provider] }}</td>
                    <th scope="row">
                      <span data-testid="account-name">{{ a.name }}</span>
                      <small class="details">{{ detailsText(a) }}</small>
                    </th>
                    <td data-testid="account-state">{{ stateText(a) }}</td>
                    <td>
                      <span
                        class="health"
                        [attr.data-health]="a.health"
                        data-testid="account-health"
                        >{{ a.health }}</span
                      >
                      <small class="details">{{ circuitLabels[a.circuit] }}</small>
                    </td>
                    <td class="space">
                      @if (a.quota.limit !== null) {
                        <app-stacked-bar
                          [value]="a.quota.used"
                          [extra]="a.quota.reserved"
                          [max]="a.quota.limit"
                          [label]="'Space on ' + a.name"
                          [valueText]="spaceText(a.quota)"
                        />
                      }
                      <small data-testid="account-space">{{ spaceText(a.quota) }}</small>
                    </td>
                    <td>{{ dailyText(a) }}</td>
                    <td>
                      @if (a.lastCheckAt) {
                        <time [attr.datetime]="a.lastCheckAt">{{
                          a.lastCheckAt | date: 'medium'
                        }}</time>
                      } @else {
                        never
                      }
                    </td>
                    <td class="last-error">{{ a.lastError ?? '—' }}</td>
                    <td>
                      <div class="actions">
                        <button
                          type="button"
                          class="small"
                          [disabled]="isBusy(a.id)"
                          [attr.aria-label]="(a.enabled ? 'Disable ' : 'Enable ') + a.name"
                          (click)="setEnabled(a, !a.enabled)"
                        >
                          {{ a.enabled ? 'Disable' : 'Enable' }}
                        </button>
                        <button
                          type="button"
                          class="small"
                          [disabled]="isBusy(a.id)"
                          [attr.aria-label]="(a.draining ? 'Undrain ' : 'Drain ') + a.name"
                          (click)="setDraining(a, !a.draining)"
                        >
                          {{ a.draining ? 'Undrain' : 'Drain' }}
                        </button>
                        <button
                          type="button"
                          class="small"
                          [disabled]="isBusy(a.id)"
                          [attr.aria-label]="'Check now ' + a.name"
                          (click)="check(a)"
                        >
                          Check now
                        </button>
                        <button
                          type="button"
                          class="small"
                          [disabled]="isBusy(a.id)"
                          [attr.aria-label]="'Remove ' + a.name"
                          (click)="removal.set({ account: a, inUse: null })"
                        >
                          Remove
                        </button>
                      </div>
                    </td>
                  </tr>
                }
              </tbody>
            </table>
          </div>
        }
      } @else if (loadError(); as message) {
        <p class="error" role="alert">{{ message }}</p>
      } @else {
        <p>Loading…</p>
      }

      <div class="forms">
        <section aria-labelledby="add-heading">
          <h2 id="add-heading">Add an account</h2>
          <form [formGroup]="addForm" (ngSubmit)="add()" novalidate data-testid="add-account-form">
            <label for="account-provider">Kind</label>
            <select id="account-provider" formControlName="provider">
              <option value="gdrive">Google Drive (refresh token)</option>
              <option value="webdav">WebDAV server</option>
              <option value="local">Local directory</option>
            </select>
            <label for="account-name">Name</label>
            <input id="account-name" formControlName="name" autocomplete="off" />
            @if (addForm.controls.name.touched && addForm.controls.name.invalid) {
              <p class="hint">Give the account a name (at most 100 characters).</p>
            }
            @switch (provider()) {
              @case ('gdrive') {
                <ng-container formGroupName="gdrive">
                  <label for="gdrive-client-id">OAuth client ID</label>
                  <input id="gdrive-client-id" formControlName="clientId" autocomplete="off" />
                  <label for="gdrive-client-secret">OAuth client secret</label>
                  <input
                    id="gdrive-client-secret"
                    type="password"
                    formControlName="clientSecret"
                    autocomplete="off"
                  />
                  <label for="gdrive-refresh-token">Refresh token</label>
                  <input
                    id="gdrive-refresh-token"
                    type="password"
                    formControlName="refreshToken"
                    autocomplete="off"
                  />
                  @if (addForm.controls.gdrive.touched && addForm.controls.gdrive.invalid) {
                    <p class="hint">All three are needed.</p>
                  }
                </ng-container>
              }
              @case ('webdav') {
                <ng-container formGroupName="webdav">
                  <label for="webdav-url">Server URL</label>
                  <input
                    id="webdav-url"
                    type="url"
                    formControlName="url"
                    placeholder="https://dav.example.com/remote.php/dav/files/me"
                  />
                  @if (
                    addForm.controls.webdav.controls.url.touched &&
                    addForm.controls.webdav.controls.url.invalid
                  ) {
                    <p class="hint">Enter an http:// or https:// URL.</p>
                  }
                  <label for="webdav-username">Username</label>
                  <input id="webdav-username" formControlName="username" autocomplete="off" />
                  <label for="webdav-password">Password</label>
                  <input
                    id="webdav-password"
                    type="password"
                    formControlName="password"
                    autocomplete="off"
                  />
                  <label for="webdav-root">Folder (optional)</label>
                  <input id="webdav-root" formControlName="root" placeholder="/directdrivex" />
                </ng-container>
              }
              @case ('local') {
                <ng-container formGroupName="local">
                  <label for="local-path">Directory on the gateway’s disk</label>
                  <input id="local-path" formControlName="path" placeholder="/srv/directdrivex" />
                  @if (
                    addForm.controls.local.controls.path.touched &&
                    addForm.controls.local.controls.path.invalid
                  ) {
                    <p class="hint">Enter an absolute path (starting with /).</p>
                  }
                </ng-container>
              }
            }
            <label for="account-daily-cap">Daily upload cap in GiB (optional)</label>
            <input
              id="account-daily-cap"
              type="number"
              min="0"
              step="any"
              formControlName="dailyCapGiB"
              aria-describedby="daily-cap-hint"
            />
            <p id="daily-cap-hint" class="note">
              Empty: the server’s default (Google Drive’s own daily limit, none for the others).
            </p>
            @if (addForm.controls.dailyCapGiB.invalid) {
              <p class="hint">The cap cannot be negative.</p>
            }
            @if (adding.error(); as message) {
              <p class="error" role="alert">{{ message }}</p>
            }
            <button type="submit" [disabled]="adding.busy()">
              {{ adding.busy() ? 'Checking the account…' : 'Add account' }}
            </button>
          </form>
        </section>

        <section aria-labelledby="connect-heading">
          <h2 id="connect-heading">Connect a Google account</h2>
          <p class="note">
            Sign in to Google with the account to add; Google asks for consent and sends you back
            here.
          </p>
          <form [formGroup]="connectForm" (ngSubmit)="connect()" novalidate>
            <label for="connect-name">Name</label>
            <input id="connect-name" formControlName="name" autocomplete="off" />
            @if (connectForm.controls.name.touched && connectForm.controls.name.invalid) {
              <p class="hint">Give the account a name (at most 100 characters).</p>
            }
            @if (connecting.error(); as message) {
              <p class="error" role="alert">{{ message }}</p>
            }
            <button type="submit" [disabled]="connecting.busy()">Connect Google account</button>
          </form>
        </section>
      </div>
    </section>
  `,
  styles: `
    .title-row {
      display: flex;
      align-items: center;
      justify-content: space-between;
    }
    tbody th {
      font-weight: 600;
    }
    tr.highlight {
      background: #eef8f1;
    }
    .health[data-health='healthy'] {
      color: #1b5e33;
    }
    .health[data-health='degraded'] {
      color: #8a5a00;
    }
    .health[data-health='down'] {
      color: #a11d1d;
    }
    .space {
      min-width: 11rem;
    }
    .last-error {
      max-width: 16rem;
      overflow-wrap: anywhere;
    }
    .actions {
      display: flex;
      flex-wrap: wrap;
      gap: 0.35rem;
      min-width: 11rem;
    }
    .confirm {
      margin-top: 1rem;
      padding: 1rem;
      border: 1px solid #a11d1d;
      border-radius: 6px;
    }
    .confirm h2 {
      margin-top: 0;
    }
    .buttons {
      display: flex;
      gap: 0.5rem;
      margin-top: 0.75rem;
    }
    .forms {
      display: grid;
      grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr));
      gap: 2rem;
      margin-top: 1.5rem;
    }
    .note {
      margin: 0;
      color: #5a6378;
      font-size: 0.85rem;
    }
  `,
})
export class AccountsPage {
  private readonly api = inject(StorageAccountsService);
  private readonly route = inject(ActivatedRoute);
  private readonly router = inject(Router);
  private readonly browser = inject(BrowserLocation);
  private readonly fb = inject(FormBuilder).nonNullable;

  protected readonly providerLabels = PROVIDER_LABELS;
  protected readonly circuitLabels = CIRCUIT_LABELS;
  protected readonly spaceText = spaceText;
  protected readonly dailyText = dailyText;

  protected readonly accounts = signal<StorageAccount[] | null>(null);
  protected readonly loading = signal(false);
  protected readonly loadError = signal<string | null>(null);
  protected readonly notice = signal<Notice | null>(null);
  protected readonly removal = signal<Removal | null>(null);
  protected readonly connectedId = signal<string | null>(null);
  private readonly busyIds = signal<ReadonlySet<string>>(new Set());

  protected readonly addForm = this.fb.group({
    provider: this.fb.control<Provider>('gdrive'),
    name: ['', [Validators.required, Validators.maxLength(100), Validators.pattern(/\S/)]],
    dailyCapGiB: this.fb.control<number | null>(null, Validators.min(0)),
    gdrive: this.fb.group({
      clientId: ['', Validators.required],
      clientSecret: ['', Validators.required],
      refreshToken: ['', Validators.required],
    }),
    webdav: this.fb.group({
      url: ['', [Validators.required, Validators.pattern(/^https?:\/\/\S+$/)]],
      username: [''],
      password: [''],
      root: [''],
    }),
    local: this.fb.group({
      path: ['', [Validators.required, Validators.pattern(/^\//)]],
    }),
  });
  protected readonly provider = toSignal(this.addForm.controls.provider.valueChanges, {
    initialValue: this.addForm.controls.provider.value,
  });
  protected readonly adding = new FormSubmission();

  protected readonly connectForm = this.fb.group({
    name: ['', [Validators.required, Validators.maxLength(100), Validators.pattern(/\S/)]],
  });
  protected readonly connecting = new FormSubmission();

  private readonly confirmFirst = viewChild<ElementRef<HTMLButtonElement>>('confirmFirst');

  constructor() {
    // Only the chosen provider's fields count: the others are disabled, so they neither validate nor submit.
    this.showProviderFields(this.addForm.controls.provider.value);
    this.addForm.controls.provider.valueChanges
      .pipe(takeUntilDestroyed())
      .subscribe((p) => this.showProviderFields(p));
    // The confirmation asks a question: put the keyboard on its first answer.
    afterRenderEffect(() => this.confirmFirst()?.nativeElement.focus());
    this.readConnectOutcome();
    void this.load();
  }

  protected async load(): Promise<void> {
    this.loading.set(true);
    try {
      this.accounts.set(await this.api.list());
      this.loadError.set(null);
      const connected = this.accounts()?.find((a) => a.id === this.connectedId());
      if (connected) {
        this.notice.set({ kind: 'ok', text: `Google account “${connected.name}” connected.` });
      }
    } catch (err) {
      this.loadError.set(`The accounts could not be loaded: ${apiErrorMessage(err)}`);
    } finally {
      this.loading.set(false);
    }
  }

  protected isBusy(id: string): boolean {
    return this.busyIds().has(id);
  }

  protected stateText(a: StorageAccount): string {
    const state = a.enabled ? 'Enabled' : 'Disabled';
    return a.draining ? `${state}, draining` : state;
  }

  protected detailsText(a: StorageAccount): string {
    const d = a.details;
    switch (a.provider) {
      case 'gdrive':
        return d['clientId'] ? `client ${d['clientId']}` : '';
      case 'webdav':
        return [d['username'] ? `${d['username']} @ ${d['url']}` : d['url'], d['root']]
          .filter(Boolean)
          .join(' · ');
      case 'local':
        return d['path'] ?? '';
    }
  }

  protected setEnabled(a: StorageAccount, enabled: boolean): Promise<void> {
    return this.act(a, enabled ? 'enable' : 'disable', () => this.api.update(a.id, { enabled }));
  }

  protected setDraining(a: StorageAccount, draining: boolean): Promise<void> {
    return this.act(a, draining ? 'drain' : 'undrain', () => this.api.update(a.id, { draining }));
  }

  protected check(a: StorageAccount): Promise<void> {
    return this.act(a, 'check', () => this.api.check(a.id));
  }

  protected async remove(force: boolean): Promise<void> {
    const pending = this.removal();
    if (!pending) return;
    const { account } = pending;
    this.setBusy(account.id, true);
    try {
      await this.api.remove(account.id, force);
      this.removal.set(null);
      this.accounts.update((list) => list?.filter((a) => a.id !== account.id) ?? null);
      this.notice.set({ kind: 'ok', text: `Removed “${account.name}”.` });
    } catch (err) {
      if (!force && apiErrorCode(err) === 'account_in_use') {
        // Only now is force offered, with the server's own count of what would be affected.
        this.removal.set({ account, inUse: apiErrorMessage(err) });
      } else {
        this.removal.set(null);
        this.notice.set({
          kind: 'error',
          text: `Could not remove “${account.name}”: ${apiErrorMessage(err)}`,
        });
      }
    } finally {
      this.setBusy(account.id, false);
    }
  }

  protected async add(): Promise<void> {
    await this.adding.run(this.addForm, async () => {
      const added = await this.api.add(this.newAccount());
      this.accounts.update((list) => [...(list ?? []), added]);
      this.notice.set({ kind: 'ok', text: `Added “${added.name}”.` });
      const provider = this.addForm.controls.provider.value;
      this.addForm.reset();
      this.addForm.controls.provider.setValue(provider);
    });
  }

  protected async connect(): Promise<void> {
    await this.connecting.run(this.connectForm, async () => {
      const url = await this.api.connectGoogle(this.connectForm.getRawValue().name.trim());
      this.browser.assign(url);
    });
  }

  private async act(
    a: StorageAccount,
    verb: string,
    call: () => Promise<StorageAccount>,
  ): Promise<void> {
    this.setBusy(a.id, true);
    this.notice.set(null);
    try {
      const updated = await call();
      this.accounts.update((list) => list?.map((x) => (x.id === updated.id ? updated : x)) ?? null);
    } catch (err) {
      this.notice.set({
        kind: 'error',
        text: `Could not ${verb} “${a.name}”: ${apiErrorMessage(err)}`,
      });
    } finally {
      this.setBusy(a.id, false);
    }
  }

  private setBusy(id: string, busy: boolean): void {
    this.busyIds.update((ids) => {
      const next = new Set(ids);
      if (busy) next.add(id);
      else next.delete(id);
      return next;
    });
  }

  private showProviderFields(provider: Provider): void {
    const groups = this.addForm.controls;
    for (const p of ['gdrive', 'webdav', 'local'] as const) {
      if (p === provider) groups[p].enable({ emitEvent: false });
      else groups[p].disable({ emitEvent: false });
    }
  }

  private newAccount(): NewAccount {
    const v = this.addForm.getRawValue();
    const name = v.name.trim();
    const cap = v.dailyCapGiB;
    const dailyCap = cap === null || Number.isNaN(cap) ? {} : { dailyCap: Math.round(cap * GiB) };
    switch (v.provider) {
      case 'gdrive':
        return {
          provider: 'gdrive',
          name,
          clientId: v.gdrive.clientId.trim(),
          clientSecret: v.gdrive.clientSecret.trim(),
          refreshToken: v.gdrive.refreshToken.trim(),
          ...dailyCap,
        };
      case 'webdav':
        return {
          provider: 'webdav',
          name,
          url: v.webdav.url.trim(),
          username: v.webdav.username,
          password: v.webdav.password,
          ...(v.webdav.root.trim() ? { root: v.webdav.root.trim() } : {}),
          ...dailyCap,
        };
      case 'local':
        return { provider: 'local', name, path: v.local.path.trim(), ...dailyCap };
    }
  }

  /** Google's consent flow returns here with the outcome in the query string; show it once, then tidy the URL. */
  private readConnectOutcome(): void {
    const query = this.route.snapshot.queryParamMap;
    const connected = query.get('connected');
    const error = query.get('error');
    if (connected) {
      this.connectedId.set(connected);
      this.notice.set({ kind: 'ok', text: 'Google account connected.' });
    } else if (error) {
      // Only a code travels in the link (anyone can craft one): the words are ours.
      const reason =
        CONNECT_ERRORS[error] ?? 'something went wrong; the gateway log has the details.';
      this.notice.set({ kind: 'error', text: `Connecting the Google account failed: ${reason}` });
    }
    if (connected || error) {
      void this.router.navigate([], { relativeTo: this.route, queryParams: {}, replaceUrl: true });
    }
  }
}

/** What the connect callback's `?error=<code>` means, in words. */
const CONNECT_ERRORS: Record<string, string> = {
  google_consent_denied: 'access was not granted on Google’s consent screen.',
  invalid_state: 'the connect link expired or was already used; start again.',
  invalid_callback: 'Google’s answer was incomplete; start again.',
  google_exchange_failed: 'Google refused the authorization code; start again.',
  no_refresh_token:
    'Google sent no refresh token. Remove DirectDriveX from the Google account’s third-party access, then connect again.',
  invalid_credentials: 'Google rejected the new credentials.',
  account_unreachable: 'Google Drive could not be reached; try again later.',
  account_unusable: 'the Google account cannot be used as storage.',
};
