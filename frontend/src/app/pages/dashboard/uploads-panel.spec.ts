import { HttpTestingController } from '@angular/common/http/testing';
import { type ComponentFixture, TestBed } from '@angular/core/testing';
import { AuthService } from '../../core/auth/auth.service';
import { apiError, flushMicrotasks, setUpAuthTesting, signIn, USER } from '../../core/auth/testing';
import { WEB_SOCKET_FACTORY } from '../../core/uploads/upload.service';
import { fakeSockets, initiated, uploadedFile } from '../../core/uploads/testing';
import type { UploadSnapshot } from '../../core/uploads/upload.types';
import { UploadsPanel, uploadStatusText } from './uploads-panel';

describe('UploadsPanel', () => {
  let http: HttpTestingController;
  let net: ReturnType<typeof fakeSockets>;
  let fixture: ComponentFixture<UploadsPanel>;
  let el: HTMLElement;

  beforeEach(async () => {
    net = fakeSockets();
    TestBed.configureTestingModule({
      providers: [{ provide: WEB_SOCKET_FACTORY, useValue: net.open }],
    });
    http = setUpAuthTesting();
    await signIn(TestBed.inject(AuthService), http);
    fixture = TestBed.createComponent(UploadsPanel);
    el = fixture.nativeElement as HTMLElement;
    await fixture.whenStable();
  });
  afterEach(() => http.verify());

  async function render(): Promise<void> {
    await flushMicrotasks();
    for (const req of http.match('/api/v1/auth/users/me')) req.flush(USER);
    await flushMicrotasks();
    await fixture.whenStable();
  }

  function pick(...files: File[]): void {
    const input = el.querySelector<HTMLInputElement>('[data-testid=upload-input]')!;
    Object.defineProperty(input, 'files', { value: files, configurable: true });
    input.dispatchEvent(new Event('change'));
  }

  const rows = () => Array.from(el.querySelectorAll<HTMLElement>('[data-testid=upload-row]'));
  const text = (row: HTMLElement | undefined, id: string) =>
    row?.querySelector(`[data-testid=${id}]`)?.textContent?.trim();

  it('has a labelled multiple file input inside a drop zone', () => {
    const input = el.querySelector<HTMLInputElement>('#upload-input')!;
    expect(input.type).toBe('file');
    expect(input.multiple).toBe(true);
    expect(el.querySelector('label[for=upload-input]')?.textContent).toContain('Choose files');
    expect(el.querySelector('[data-testid=dropzone]')?.contains(input)).toBe(true);
  });

  it('shows a row per picked file with live progress, then the SHA-256', async () => {
    pick(new File([new Uint8Array(30)], 'a.bin'), new File(['x'], 'b.txt', { type: 'text/plain' }));
    await fixture.whenStable();
    expect(rows().map((r) => text(r, 'upload-name'))).toEqual(['a.bin', 'b.txt']);
    expect(el.querySelector<HTMLInputElement>('#upload-input')!.value).toBe('');

    const [a, b] = http.match('/api/v1/upload/initiate');
    a!.flush(initiated('f1', 10));
    b!.flush(initiated('f2', 10));
    await render();
    net.sockets[0]!.receive({ type: 'ready', offset: 0 });
    net.sockets[0]!.receive({ type: 'progress', committed: 10, received: 20 });
    await fixture.whenStable();
    const row = rows()[0];
    expect(text(row, 'upload-state')).toBe('Uploading: 10 B stored, 20 B received of 30 B (33%)');
    const bar = row!.querySelector('[role=progressbar]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('10');
    expect(bar.getAttribute('aria-valuemax')).toBe('30');
    expect(bar.getAttribute('aria-label')).toBe('Upload of a.bin');
    expect(el.querySelector('[data-testid=upload-summary]')?.getAttribute('role')).toBe('status');
    expect(text(el, 'upload-summary')).toBe('2 uploading');

    net.sockets[0]!.receive({ type: 'complete', file: uploadedFile('a.bin', 30, 'f'.repeat(64)) });
    await render();
    expect(text(rows()[0], 'upload-state')).toBe('Complete');
    expect(text(rows()[0], 'upload-sha256')).toBe('f'.repeat(64));
    expect(rows()[0]!.querySelector('[data-testid=upload-cancel]')).toBeNull();
    expect(text(el, 'upload-summary')).toBe('1 uploading, 1 complete');

    // Cancel the other from its row.
    const cancel = rows()[1]!.querySelector<HTMLButtonElement>('[data-testid=upload-cancel]')!;
    expect(cancel.getAttribute('aria-label')).toBe('Cancel upload of b.txt');
    net.sockets[1]!.receive({ type: 'ready', offset: 0 });
    cancel.click();
    await fixture.whenStable();
    expect(text(rows()[1], 'upload-state')).toBe('Cancelling…');
    expect(net.sockets[1]!.texts).toEqual([{ type: 'cancel' }]);
    net.sockets[1]!.receive({ type: 'cancelled', file: uploadedFile('b.txt', 1) });
    await render();
    expect(text(rows()[1], 'upload-state')).toBe('Cancelled');

    el.querySelector<HTMLButtonElement>('.uploads-bar button')!.click();
    await fixture.whenStable();
    expect(rows()).toHaveLength(0);
  });

  it('shows a refusal as an alert with a Retry button', async () => {
    pick(new File(['x'], 'big.iso'));
    http.expectOne('/api/v1/upload/initiate').flush(apiError('insufficient_storage', 'full'), {
      status: 507,
      statusText: 'Insufficient Storage',
    });
    await render();
    expect(text(rows()[0], 'upload-state')).toBe('Failed');
    expect(rows()[0]!.querySelector('[role=alert]')?.textContent).toContain(
      'No storage account has room for this file',
    );
    const retry = rows()[0]!.querySelector<HTMLButtonElement>('[data-testid=upload-retry]')!;
    expect(retry.textContent?.trim()).toBe('Retry');
    retry.click();
    http.expectOne('/api/v1/upload/initiate').flush(initiated('f1'));
    await render();
    expect(net.sockets).toHaveLength(1);
  });

  it('takes dropped files and skips folders with a note', async () => {
    const file = new File(['x'], 'dropped.txt');
    const item = (entry: { isDirectory: boolean }, f: File | null) => ({
      kind: 'file',
      getAsFile: () => f,
      webkitGetAsEntry: () => entry,
    });
    const zone = el.querySelector<HTMLElement>('[data-testid=dropzone]')!;
    const over = Object.assign(new Event('dragover', { cancelable: true }), {
      dataTransfer: { types: ['Files'], dropEffect: 'none' },
    });
    zone.dispatchEvent(over);
    await fixture.whenStable();
    expect(over.defaultPrevented).toBe(true);
    expect(zone.classList).toContain('over');

    const drop = Object.assign(new Event('drop', { cancelable: true }), {
      dataTransfer: {
        types: ['Files'],
        items: [
          item({ isDirectory: false }, file),
          item({ isDirectory: true }, new File([], 'photos')),
        ],
        files: [],
      },
    });
    zone.dispatchEvent(drop);
    await fixture.whenStable();
    expect(drop.defaultPrevented).toBe(true);
    expect(zone.classList).not.toContain('over');
    expect(rows().map((r) => text(r, 'upload-name'))).toEqual(['dropped.txt']);
    expect(el.textContent).toContain('A folder was skipped: drop the files inside it instead.');
    http.expectOne('/api/v1/upload/initiate').flush(initiated('f1'));
    await render();
  });
});

describe('uploadStatusText', () => {
  const base: UploadSnapshot = {
    phase: 'waiting',
    committed: 0,
    received: 0,
    retryInSeconds: null,
    message: null,
    file: null,
    resumable: false,
  };
  it.each([
    [{ phase: 'waiting' }, 'Waiting'],
    [{ phase: 'reconnecting', retryInSeconds: 4, resumable: true }, 'Reconnecting in 4 s'],
    [{ phase: 'reconnecting', retryInSeconds: 30, resumable: false }, 'Retrying in 30 s'],
    [{ phase: 'failed' }, 'Failed'],
    [
      { phase: 'uploading', committed: 4 * 1024 ** 2, received: 8 * 1024 ** 2 },
      'Uploading: 4 MiB stored, 8 MiB received of 10 MiB (40%)',
    ],
  ] as const)('%o → %s', (patch, expected) => {
    expect(uploadStatusText({ ...base, ...patch }, 10 * 1024 ** 2)).toBe(expected);
  });
});
