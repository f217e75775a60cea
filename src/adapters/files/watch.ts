// Watching a manifest directory: chokidar events, debounced into one "something changed" call.
import { watch, type FSWatcher } from 'chokidar';
import { resolve } from 'node:path';
import { isManifestName } from './directory.ts';

export interface DirectoryWatch {
  close(): Promise<void>;
}

/** Calls `onChange` once per burst of changes to manifest files under `dir`, `debounceMs` after the last one. */
export function watchDirectory(dir: string, onChange: () => void, debounceMs = 250, exclude: readonly string[] = []): DirectoryWatch {
  let timer: NodeJS.Timeout | undefined;
  const skip = exclude.map((e) => resolve(e));
  const watcher: FSWatcher = watch(dir, {
    ignoreInitial: true,
    ignored: (path: string, stats?: { isFile(): boolean }) => {
      if (skip.some((s) => resolve(path) === s || resolve(path).startsWith(`${s}/`))) return true;
      const name = path.split('/').pop() ?? '';
      if (name.startsWith('.') && path !== dir) return true;
      return stats?.isFile() === true && !isManifestName(name);
    },
  });
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  watcher.on('add', fire).on('change', fire).on('unlink', fire).on('unlinkDir', fire).on('addDir', fire);
  return {
    async close() {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
