import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { RouterLink, RouterOutlet } from '@angular/router';
import { AuthService } from './core/auth/auth.service';

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header class="topbar">
      <a class="brand" routerLink="/">DirectDriveX</a>
      @if (auth.currentUser(); as user) {
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
