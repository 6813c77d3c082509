import type { Routes } from '@angular/router';
import { adminGuard } from './core/admin/admin.guard';
import { authGuard, guestGuard } from './core/auth/auth.guard';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'dashboard' },
  {
    path: 'login',
    title: 'Sign in · DirectDriveX',
    canActivate: [guestGuard],
    loadComponent: () => import('./pages/login/login').then((m) => m.LoginPage),
  },
  {
    path: 'register',
    title: 'Create account · DirectDriveX',
    canActivate: [guestGuard],
    loadComponent: () => import('./pages/register/register').then((m) => m.RegisterPage),
  },
  {
    path: 'dashboard',
    title: 'Dashboard · DirectDriveX',
    canActivate: [authGuard],
    loadComponent: () => import('./pages/dashboard/dashboard').then((m) => m.DashboardPage),
  },
  {
    path: 'admin/accounts',
    title: 'Storage accounts · DirectDriveX',
    canActivate: [authGuard, adminGuard],
    loadComponent: () => import('./pages/admin/accounts/accounts').then((m) => m.AccountsPage),
  },
  {
    path: 'admin/backups',
    title: 'Backups · DirectDriveX',
    canActivate: [authGuard, adminGuard],
    loadComponent: () => import('./pages/admin/backups/backups').then((m) => m.BackupsPage),
  },
  {
    // The page a share link opens: for anyone, signed in or not.
    path: 's/:token',
    title: 'Shared file · DirectDriveX',
    loadComponent: () => import('./pages/share/share').then((m) => m.SharePage),
  },
  {
    path: 'auth/callback',
    title: 'Signing in · DirectDriveX',
    loadComponent: () =>
      import('./pages/auth-callback/auth-callback').then((m) => m.AuthCallbackPage),
  },
  {
    path: '**',
    title: 'Not found · DirectDriveX',
    loadComponent: () => import('./pages/not-found/not-found').then((m) => m.NotFoundPage),
  },
];
