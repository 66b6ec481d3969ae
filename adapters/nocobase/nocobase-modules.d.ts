/**
 * The two NocoBase modules the bridge loads at run time (optional peer dependencies). These minimal
 * declarations let clusterkit typecheck and build without NocoBase installed; a host that has
 * NocoBase gets NocoBase's own, compatible, types.
 */
declare module '@nocobase/lock-manager' {
  /** NocoBase's error for a lock that is held (`tryAcquire`) or not taken in time. */
  export class LockAcquireError extends Error {
    constructor(message?: string, options?: { cause?: unknown });
  }
}

declare module '@nocobase/server' {
  /** NocoBase's plugin base class. */
  export class Plugin {
    constructor(app: any, options?: any);
    app: any;
    options: any;
    afterAdd(): void | Promise<void>;
    beforeLoad(): void | Promise<void>;
    load(): void | Promise<void>;
  }
}
