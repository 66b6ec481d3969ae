/**
 * `clusterkitForEveryApplication(Application, optionsFor)`: installs the bridge on every NocoBase
 * `Application` constructed from now on — the way to run NocoBase's own test suite (whose helpers
 * construct their apps themselves, e.g. `createMockServer`) through clusterkit from a test setup file.
 * NocoBase's constructor calls `init()`; the hook runs right after the first one, before `load`.
 */
import { clusterkitInstallation, installClusterkit, type InstallClusterkitOptions } from './install.js';
import type { NocoBaseApp } from './nocobase-types.js';

/**
 * Patches `ApplicationClass.prototype.init` so each new app gets `installClusterkit(app, optionsFor(app))`
 * (skipped when `optionsFor` returns `undefined`). Returns the undo: later apps are left alone
 * (apps already installed keep their installation).
 */
export function clusterkitForEveryApplication(
  ApplicationClass: { prototype: object },
  optionsFor: (app: NocoBaseApp) => InstallClusterkitOptions | undefined,
): () => void {
  const proto = ApplicationClass.prototype as { init: (...args: unknown[]) => unknown };
  const init = proto.init;
  const patched = function (this: NocoBaseApp, ...args: unknown[]) {
    const result = init.apply(this, args);
    // Re-inits of an installed app go through the installation's own hook.
    if (!clusterkitInstallation(this)) {
      const options = optionsFor(this);
      if (options) installClusterkit(this, options);
    }
    return result;
  };
  proto.init = patched;
  return () => {
    if (proto.init === patched) proto.init = init;
  };
}
