// The browser shell's store files: plain `conf` in a directory of its own.
import Conf from 'conf';
import type { JsonFile, JsonFileFactory } from '../app/file-storage.ts';

export const openConfFile: JsonFileFactory = (options) => new Conf<Record<string, unknown>>(options) as unknown as JsonFile;
