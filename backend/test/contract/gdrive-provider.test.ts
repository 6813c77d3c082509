import { GoogleDriveProvider } from '../../src/providers/gdrive';
import { startDriveEmulator } from '../support/drive-emulator';
import { describeProviderContract } from './provider.contract';

/** The real googleapis client against the Drive emulator: one emulator and one account per test. */
describeProviderContract('google drive (emulator)', {
  async open() {
    const emu = await startDriveEmulator();
    const account = emu.addAccount({ quotaLimit: 1024 ** 3 });
    const make = () =>
      new GoogleDriveProvider({
        credentials: { clientId: account.clientId, clientSecret: account.clientSecret, refreshToken: account.refreshToken },
        endpoints: { apiRootUrl: emu.env.GOOGLE_API_ROOT_URL, tokenUrl: emu.env.GOOGLE_OAUTH_TOKEN_URL },
        retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      });
    return { provider: make(), reopen: make, dispose: () => emu.close() };
  },
});
