import { ChangeDetectionStrategy, Component, computed, inject } from '@angular/core';
import { AuthService } from '../../core/auth/auth.service';
import { formatBytes } from '../../core/format/bytes';

@Component({
  selector: 'app-dashboard',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (user(); as u) {
      <section class="card wide">
        <h1>Dashboard</h1>
        <p>Signed in as <strong data-testid="user-email">{{ u.email }}</strong></p>
        <p>Role: <span data-testid="user-role">{{ u.role }}</span></p>
        <h2>Storage</h2>
        <p data-testid="storage">{{ used() }} of {{ quota() }} used</p>
        <progress [value]="u.storageUsed" [max]="u.storageQuota || 1" aria-label="Storage used"></progress>
      </section>
    }
  `,
})
export class DashboardPage {
  protected readonly user = inject(AuthService).currentUser;
  protected readonly used = computed(() => formatBytes(this.user()?.storageUsed ?? 0));
  protected readonly quota = computed(() => formatBytes(this.user()?.storageQuota ?? 0));
}
