import { inject } from '@angular/core';
import { type CanActivateFn, Router } from '@angular/router';
import { AuthService } from '../auth/auth.service';

/** Admin pages; run after `authGuard`, so a visitor is already signed in. Others go to their dashboard. */
export const adminGuard: CanActivateFn = () =>
  inject(AuthService).currentUser()?.role === 'admin'
    ? true
    : inject(Router).createUrlTree(['/dashboard']);
