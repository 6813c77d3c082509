import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import type { ComponentFixture } from '@angular/core/testing';
import { AuthService } from '../../core/auth/auth.service';
import { apiError, flushMicrotasks, setUpAuthTesting, signIn, USER } from '../../core/auth/testing';
import { BrowserDownloads } from '../../core/browser/browser-downloads';
import { storedFile } from '../../core/files/testing';
import { UploadService, WEB_SOCKET_FACTORY } from '../../core/uploads/upload.service';
import { fakeSockets, initiated, uploadedFile } from '../../core/uploads/testing';
import { backupText, MyFiles } from './my-files';

const LIST = (query = 'page=1&limit=20&sort=-createdAt') => `/api/v1/files?${query}`;
const A = storedFile();
const B = storedFile({
  id: '0b6f3c1e-3333-4333-8333-333333333333',
  name: 'holiday.jpg',
  size: 3 * 1024 ** 2,
  mimeType: 'image/jpeg',
  backup: { state: 'failed', attempts: 5, lastError: 'boom', backedUpAt: null },
});

describe('MyFiles', () => {
  let http: HttpTestingController;
  let fixture: ComponentFixture<MyFiles>;
  let el: HTMLElement;
  let save: ReturnType<typeof vi.fn<(url: string, name?: string) => void>>;
  let openInNewTab: ReturnType<typeof vi.fn<(url: string) => void>>;
  let net: ReturnType<typeof fakeSockets>;

  beforeEach(async () => {
    save = vi.fn<(url: string, name?: string) => void>();
    openInNewTab = vi.fn<(url: string) => void>();
    net = fakeSockets();
    TestBed.configureTestingModule({
      providers: [
        { provide: BrowserDownloads, useValue: { save, openInNewTab } },
        { provide: WEB_SOCKET_FACTORY, useValue: net.open },
      ],
    });
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
  });
  afterEach(() => http.verify());

  async function settle(): Promise<void> {
    await flushMicrotasks();
    await fixture.whenStable();
  }

  async function open(items = [A, B], total = items.length): Promise<void> {
    fixture = TestBed.createComponent(MyFiles);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    http.expectOne(LIST()).flush({ items, total });
    await settle();
  }

  const rows = () => Array.from(el.querySelectorAll<HTMLElement>('[data-testid=file-row]'));
  const names = () => rows().map((r) => r.querySelector('[data-testid=file-name]')?.textContent);
  const button = (label: string) => {
    const found = Array.from(el.querySelectorAll<HTMLButtonElement>('button')).find(
      (b) => (b.getAttribute('aria-label') ?? b.textContent?.trim()) === label,
    );
    if (!found) throw new Error(`no button "${label}"`);
    return found;
  };

  it('lists each file with its size, date and backup state', async () => {
    await open();
    expect(names()).toEqual(['report.pdf', 'holiday.jpg']);
    const [a, b] = rows();
    expect(a!.querySelector('[data-testid=file-size]')?.textContent).toBe('1.5 KiB');
    expect(a!.querySelector('time')?.getAttribute('datetime')).toBe(A.createdAt);
    expect(a!.querySelector('[data-testid=file-backup]')?.textContent).toBe('Backed up');
    expect(b!.querySelector('[data-testid=file-size]')?.textContent).toBe('3 MiB');
    expect(b!.querySelector('[data-testid=file-backup]')?.textContent).toBe(
      'Backup failed (5 attempts)',
    );
    expect(el.querySelector('[data-testid=files-range]')?.textContent).toBe('1–2 of 2');
  });

  it('says so when there are no files, and when a search finds none', async () => {
    await open([]);
    expect(el.querySelector('[data-testid=files-empty]')?.textContent).toContain('No files yet');

    const search = el.querySelector<HTMLInputElement>('[data-testid=files-search]')!;
    search.value = 'tax';
    search.dispatchEvent(new Event('input'));
    el.querySelector('form')!.dispatchEvent(new Event('submit'));
    http.expectOne(LIST('page=1&limit=20&sort=-createdAt&q=tax')).flush({ items: [], total: 0 });
    await settle();
    expect(el.querySelector('[data-testid=files-empty]')?.textContent).toContain(
      'No files match “tax”.',
    );
  });

  it('shows a failed load as an alert, and tries again', async () => {
    fixture = TestBed.createComponent(MyFiles);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
    http.expectOne(LIST()).flush(null, { status: 503, statusText: 'Unavailable' });
    await settle();
    const alert = el.querySelector('[data-testid=files-error]');
    expect(alert?.getAttribute('role')).toBe('alert');
    expect(alert?.textContent).toContain(
      'Your files could not be loaded: The server answered 503.',
    );
    button('Try again').click();
    http.expectOne(LIST()).flush({ items: [A], total: 1 });
    await settle();
    expect(el.querySelector('[data-testid=files-error]')).toBeNull();
    expect(names()).toEqual(['report.pdf']);
  });

  it('sorts and pages through the list', async () => {
    await open([A], 45);
    expect(el.querySelector('[data-testid=files-range]')?.textContent).toBe('1–1 of 45');
    const sort = el.querySelector<HTMLSelectElement>('[data-testid=files-sort]')!;
    sort.value = sort.options[4]!.value; // Largest first
    sort.dispatchEvent(new Event('change'));
    http.expectOne(LIST('page=1&limit=20&sort=-size')).flush({ items: [B], total: 45 });
    await settle();
    expect(names()).toEqual(['holiday.jpg']);
    expect(button('Previous').disabled).toBe(true);

    button('Next').click();
    http.expectOne(LIST('page=2&limit=20&sort=-size')).flush({ items: [A], total: 45 });
    await settle();
    expect(el.querySelector('[data-testid=files-range]')?.textContent).toBe('21–21 of 45');
    button('Next').click();
    http.expectOne(LIST('page=3&limit=20&sort=-size')).flush({ items: [A], total: 45 });
    await settle();
    expect(button('Next').disabled).toBe(true);
  });

  it('reloads when an upload completes', async () => {
    await open([A]);
    TestBed.inject(UploadService).add([new File([new Uint8Array(3)], 'new.bin')]);
    http.expectOne('/api/v1/upload/initiate').flush(initiated('f9'));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('new.bin', 3) });
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await fixture.whenStable();
    http
      .expectOne(LIST())
      .flush({ items: [storedFile({ id: 'n', name: 'new.bin' }), A], total: 2 });
    await settle();
    expect(names()).toEqual(['new.bin', 'report.pdf']);
  });

  it('downloads and previews through tickets the browser follows itself', async () => {
    await open();
    button('Download report.pdf').click();
    const ticket = http.expectOne({ method: 'POST', url: '/api/v1/download/tickets' });
    expect(ticket.request.body).toEqual({ fileId: A.id });
    ticket.flush({ url: `/api/v1/download/stream/${A.id}?ticket=t1`, expiresAt: 'x' });
    await settle();
    expect(save).toHaveBeenCalledWith(`/api/v1/download/stream/${A.id}?ticket=t1`, 'report.pdf');

    button('Preview holiday.jpg in a new tab').click();
    const inline = http.expectOne({ method: 'POST', url: '/api/v1/download/tickets' });
    expect(inline.request.body).toEqual({ fileId: B.id, disposition: 'inline' });
    inline.flush({ url: `/api/v1/download/preview/stream/${B.id}?ticket=t2`, expiresAt: 'x' });
    await settle();
    expect(openInNewTab).toHaveBeenCalledWith(`/api/v1/download/preview/stream/${B.id}?ticket=t2`);

    button('Download report.pdf').click();
    http
      .expectOne('/api/v1/download/tickets')
      .flush(apiError('file_unavailable', 'No copy of this file can be reached right now.'), {
        status: 503,
        statusText: 'Unavailable',
      });
    await settle();
    expect(save).toHaveBeenCalledTimes(1);
    expect(el.querySelector('[data-testid=files-notice]')?.textContent).toBe(
      'Could not download “report.pdf”: No copy of this file can be reached right now.',
    );
  });

  it('offers only Cancel upload for an unfinished upload, and only Delete for an abandoned one', async () => {
    await open([
      storedFile({ state: 'uploading' }),
      storedFile({ id: 'p', name: 'new.bin', state: 'pending' }),
      storedFile({ id: 'x', name: 'old.bin', state: 'expired' }),
      storedFile({ id: 'c', name: 'gone.bin', state: 'cancelled' }),
      storedFile({ id: 'f', name: 'bad.bin', state: 'failed' }),
    ]);
    const [running, pending, expired, cancelled, failed] = rows();
    const labels = (row: HTMLElement) =>
      Array.from(row.querySelectorAll('button')).map((b) => b.textContent?.trim());
    const state = (row: HTMLElement) => row.querySelector('[data-testid=file-state]')?.textContent;
    expect(state(running!)).toBe('Uploading');
    expect(state(pending!)).toBe('Upload starting');
    expect(labels(running!)).toEqual(['Cancel upload']);
    expect(labels(pending!)).toEqual(['Cancel upload']);
    expect(running!.querySelector('[data-testid=file-note]')?.textContent).toContain(
      'Not being sent from this page',
    );
    expect(state(expired!)).toBe('Upload expired');
    expect(state(cancelled!)).toBe('Upload cancelled');
    expect(state(failed!)).toBe('Upload failed');
    for (const row of [expired!, cancelled!, failed!]) {
      expect(labels(row)).toEqual(['Delete']);
      expect(row.classList).toContain('abandoned');
      expect(row.querySelector('[data-testid=file-note]')?.textContent).toContain(
        'never finished, so nothing of it is stored',
      );
      // No backup line for what was never stored.
      expect(row.querySelector('[data-testid=file-backup]')).toBeNull();
    }
  });

  it('cancels an upload this page is not sending over the API, then reloads', async () => {
    const U = storedFile({ name: 'stale.iso', state: 'uploading' });
    await open([U, B]);
    button('Cancel upload of stale.iso').click();
    await fixture.whenStable();
    expect(button('Cancel upload of stale.iso').disabled).toBe(true);
    const del = http.expectOne(`/api/v1/upload/${U.id}`);
    expect(del.request.method).toBe('DELETE');
    expect(del.request.headers.get('Authorization')).toBe('Bearer access-1');
    del.flush({ file: { ...U, state: 'cancelled' } });
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    http.expectOne(LIST()).flush({ items: [{ ...U, state: 'cancelled' }, B], total: 2 });
    await settle();
    expect(el.querySelector('[data-testid=files-notice]')?.textContent).toBe(
      'Cancelled the upload of “stale.iso”.',
    );
    expect(rows()[0]!.querySelector('[data-testid=file-state]')?.textContent).toBe(
      'Upload cancelled',
    );
    expect(button('Delete stale.iso')).toBeTruthy();
  });

  it('treats an upload that already ended (410) as cancelled, and shows other refusals', async () => {
    const U = storedFile({ name: 'stale.iso', state: 'pending' });
    await open([U]);
    button('Cancel upload of stale.iso').click();
    http
      .expectOne(`/api/v1/upload/${U.id}`)
      .flush(apiError('upload_expired', 'This upload has expired'), {
        status: 410,
        statusText: 'Gone',
      });
    await flushMicrotasks();
    http.expectOne(LIST()).flush({ items: [{ ...U, state: 'expired' }], total: 1 });
    await settle();
    const notice = el.querySelector('[data-testid=files-notice]');
    expect(notice?.textContent).toBe('The upload of “stale.iso” had already ended.');
    expect(notice?.getAttribute('role')).toBeNull();

    await open([U]);
    button('Cancel upload of stale.iso').click();
    http
      .expectOne(`/api/v1/upload/${U.id}`)
      .flush(apiError('upload_complete', 'This upload is complete; delete the file instead'), {
        status: 409,
        statusText: 'Conflict',
      });
    await flushMicrotasks();
    http.expectOne(LIST()).flush({ items: [{ ...U, state: 'complete' }], total: 1 });
    await settle();
    expect(el.querySelector('[data-testid=files-notice]')?.textContent).toBe(
      'Could not cancel the upload of “stale.iso”: This upload is complete; delete the file instead',
    );
  });

  it('cancels an upload this page is sending through the upload service, not behind its back', async () => {
    const U = storedFile({ name: 'big.bin', size: 3, state: 'uploading' });
    await open([U]);
    const uploads = TestBed.inject(UploadService);
    uploads.add([new File([new Uint8Array(3)], 'big.bin')]);
    http.expectOne('/api/v1/upload/initiate').flush(initiated(U.id));
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    const socket = net.sockets[0]!;
    socket.receive({ type: 'ready', offset: 0 });
    await fixture.whenStable();
    expect(rows()[0]!.querySelector('[data-testid=file-note]')).toBeNull();

    button('Cancel upload of big.bin').click();
    await flushMicrotasks();
    http.expectNone(`/api/v1/upload/${U.id}`);
    expect(socket.texts).toEqual([{ type: 'cancel' }]);
    expect(uploads.uploads()[0]!.state().phase).toBe('cancelling');

    socket.receive({ type: 'cancelled', file: { ...U, state: 'cancelled' } });
    http.expectOne('/api/v1/auth/users/me').flush(USER);
    await fixture.whenStable();
    http.expectOne(LIST()).flush({ items: [{ ...U, state: 'cancelled' }], total: 1 });
    await settle();
    expect(rows()[0]!.querySelector('[data-testid=file-state]')?.textContent).toBe(
      'Upload cancelled',
    );
  });

  it('offers Preview only for the types the server renders inline', async () => {
    await open([
      storedFile({ id: 'a', name: 'notes.txt', mimeType: 'text/plain; charset=utf-8' }),
      storedFile({ id: 'b', name: 'logo.svg', mimeType: 'image/svg+xml' }),
      storedFile({ id: 'c', name: 'page.html', mimeType: 'text/html' }),
      storedFile({ id: 'd', name: 'archive.zip', mimeType: 'application/zip' }),
    ]);
    const previews = rows().map((r) => r.querySelector('[data-testid=file-preview]') !== null);
    expect(previews).toEqual([true, false, false, false]);
    for (const row of rows()) {
      expect(row.querySelector('[data-testid=file-download]')).not.toBeNull();
    }
  });

  it('keeps the whole of a long name in its title', async () => {
    const long = `${'very-long-name-'.repeat(16)}end.pdf`.slice(-255);
    await open([storedFile({ name: long })]);
    const name = el.querySelector<HTMLElement>('[data-testid=file-name]')!;
    expect(name.getAttribute('title')).toBe(long);
    expect(name.textContent).toBe(long);
  });

  it('deletes after a confirmation, then reloads the list and the storage figures', async () => {
    await open();
    button('Delete holiday.jpg').click();
    await fixture.whenStable();
    const confirm = el.querySelector('[data-testid=delete-confirm]');
    expect(confirm?.getAttribute('role')).toBe('alertdialog');
    expect(confirm?.textContent).toContain('Delete “holiday.jpg”?');
    expect(document.activeElement?.textContent?.trim()).toBe('Delete');

    button('Keep it').click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=delete-confirm]')).toBeNull();
    http.expectNone(`/api/v1/files/${B.id}`);

    button('Delete holiday.jpg').click();
    await fixture.whenStable();
    el.querySelector<HTMLButtonElement>('[data-testid=delete-confirm-yes]')!.click();
    const del = http.expectOne(`/api/v1/files/${B.id}`);
    expect(del.request.method).toBe('DELETE');
    del.flush(null, { status: 204, statusText: 'No Content' });
    await flushMicrotasks();
    http.expectOne('/api/v1/auth/users/me').flush({ ...USER, storageUsed: 1536 });
    http.expectOne(LIST()).flush({ items: [A], total: 1 });
    await settle();
    expect(names()).toEqual(['report.pdf']);
    expect(el.querySelector('[data-testid=files-notice]')?.textContent).toBe(
      'Deleted “holiday.jpg”.',
    );
    expect(TestBed.inject(AuthService).currentUser()?.storageUsed).toBe(1536);
  });

  it('shows a refused delete', async () => {
    await open();
    button('Delete report.pdf').click();
    await fixture.whenStable();
    el.querySelector<HTMLButtonElement>('[data-testid=delete-confirm-yes]')!.click();
    http
      .expectOne(`/api/v1/files/${A.id}`)
      .flush(apiError('file_not_found', 'No such file'), { status: 404, statusText: 'Not Found' });
    await flushMicrotasks();
    http.expectOne(LIST()).flush({ items: [B], total: 1 });
    await settle();
    const notice = el.querySelector('[data-testid=files-notice]');
    expect(notice?.getAttribute('role')).toBe('alert');
    expect(notice?.textContent).toBe('Could not delete “report.pdf”: No such file');
  });

  it('opens the share dialog for one file at a time', async () => {
    await open();
    button('Share report.pdf').click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=share-dialog] h3')?.textContent).toBe(
      'Share “report.pdf”',
    );
    expect(button('Share report.pdf').getAttribute('aria-expanded')).toBe('true');
    http.expectOne(`/api/v1/files/${A.id}/links`).flush({ items: [], total: 0 });
    await settle();
    el.querySelector<HTMLButtonElement>('[data-testid=share-close]')!.click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid=share-dialog]')).toBeNull();
  });

  it('backupText', () => {
    const b = A.backup;
    expect(backupText({ ...b, state: 'disabled' })).toBe('No backup configured');
    expect(backupText({ ...b, state: 'pending' })).toBe('Backup pending');
    expect(backupText({ ...b, state: 'running' })).toBe('Backing up…');
    expect(backupText({ ...b, state: 'failed', attempts: 0 })).toBe('Backup failed');
  });
});
