// The part of unzipper (exceljs's own ZIP reader) that the extract reader uses: random access
// to one archive member through the ZIP's central directory.
declare module 'unzipper' {
  export type CentralDirectoryFile = { path: string; buffer: () => Promise<Buffer>; stream: () => import('node:stream').Readable };
  export const Open: { file: (path: string) => Promise<{ files: CentralDirectoryFile[] }> };
}
