import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { AuthService } from './core/auth/auth.service';

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header class="topbar">
      <a class="brand" routerLink="/">DirectDriveX</a>
      @if (auth.currentUser(); as user) {
        <nav aria-label="Main">
          <a routerLink="/dashboard" routerLinkActive="active" ariaCurrentWhenActive="page"
            >Dashboard</a
          >
          @if (user.role === 'admin') {
            <a
              routerLink="/admin/accounts"
              routerLinkActive="active"
              ariaCurrentWhenActive="page"
              data-testid="nav-admin-accounts"
              >Storage accounts</a
            >
            <a
              routerLink="/admin/backups"
              routerLinkActive="active"
              ariaCurrentWhenActive="page"
              data-testid="nav-admin-backups"
              >Backups</a
            >
          }
        </nav>
        <span class="who">{{ user.email }}</span>
        <button type="button" class="link" data-testid="logout" (click)="auth.logout()">
          Log out
        </button>
      }
    </header>
    <main>
      <router-outlet />
    </main>
  `,
  styleUrl: './app.css',
})
export class App {
  protected readonly auth = inject(AuthService);
}
