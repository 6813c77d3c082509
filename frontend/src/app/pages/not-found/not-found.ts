import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink } from '@angular/router';

@Component({
  selector: 'app-not-found',
  imports: [RouterLink],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <section class="card">
      <h1>Page not found</h1>
      <p>There is nothing at this address. <a routerLink="/dashboard">Go to your dashboard</a>.</p>
    </section>
  `,
})
export class NotFoundPage {}
