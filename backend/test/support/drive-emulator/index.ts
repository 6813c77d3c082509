/**
 * The Google Drive emulator: `startDriveEmulator` runs it in-process (see
 * server.ts for the whole API), `connectDriveEmulator` drives one running in
 * another process through its control API, and `npm run drive-emulator`
 * starts one from the command line (cli.ts).
 */
export { connectDriveEmulator, type RemoteDriveEmulator } from './remote';
export { type DriveEmulator, type DriveEmulatorOptions, type EmulatorStats, type LoggedRequest, startDriveEmulator } from './server';
export { type ActiveFault, type Fault, type FaultRule, REQUEST_KINDS, type RequestKind } from './faults';
export { type AccountCredentials, type AccountInfo, type AccountOptions, type ConsentPreset, DRIVE_FILE_SCOPE, FOLDER_MIME, type StoredFile, type UploadSession } from './state';
export { CHUNK_UNIT, type UnalignedChunkPolicy } from './context';
