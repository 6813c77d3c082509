import { ChangeDetectionStrategy, Component, computed, inject } from '@angular/core';
import { AuthService } from '../../core/auth/auth.service';
import { formatBytes } from '../../core/format/bytes';
import { MyFiles } from './my-files';
import { UploadsPanel } from './uploads-panel';

@Component({
  selector: 'app-dashboard',
  imports: [UploadsPanel, MyFiles],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (user(); as u) {
      <section class="card wide">
        <h1>Dashboard</h1>
        <p>
          Signed in as <strong data-testid="user-email">{{ u.email }}</strong>
        </p>
        <p>
          Role: <span data-testid="user-role">{{ u.role }}</span>
        </p>
        <h2>Storage</h2>
        <p data-testid="storage">{{ used() }} of {{ quota() }} used ({{ percent() }}%)</p>
        <progress
          [value]="u.storageUsed"
          [max]="u.storageQuota || 1"
          aria-label="Storage used"
        ></progress>
        <app-uploads-panel />
      </section>
      <section class="card wide">
        <app-my-files />
      </section>
    }
  `,
})
export class DashboardPage {
  private readonly auth = inject(AuthService);
  protected readonly user = this.auth.currentUser;
  protected readonly used = computed(() => formatBytes(this.user()?.storageUsed ?? 0));
  protected readonly quota = computed(() => formatBytes(this.user()?.storageQuota ?? 0));
  protected readonly percent = computed(() => {
    const u = this.user();
    if (!u || u.storageQuota <= 0) return 0;
    const p = (u.storageUsed / u.storageQuota) * 100;
    // Never show 0% for a non-empty store, nor 100% before it is full.
    return u.storageUsed > 0 && p < 1 ? '<1' : Math.min(100, Math.floor(p));
  });

  constructor() {
    // The header already knows who is signed in; usage changes, so fetch it fresh for this page.
    // A failure keeps the last known figures (a 401 is handled by the interceptor).
    void this.auth.loadMe().catch(() => undefined);
  }
}
