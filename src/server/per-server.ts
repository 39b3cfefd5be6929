// What a module keeps for each Server, such as the store it opened on the server's database. A
// module object is shared by every Server of the process (tests run several), so its state is
// keyed by the server: set in the module's init, removed in its close. Reading it outside that
// span is a bug, reported the same way by every module that keeps state.
import type { Server } from './server.js';

export class PerServer<T> {
  private readonly values = new WeakMap<Server, T>();

  /** `module` names the owner in the error a read before init throws. */
  constructor(private readonly module: string) {}

  get(server: Server): T {
    const value = this.values.get(server);
    if (value === undefined) throw new Error(`the ${this.module} module was used before the server started it`);
    return value;
  }

  set(server: Server, value: T): void {
    this.values.set(server, value);
  }

  /** Forgets the server's value and returns it (undefined when init never ran, e.g. a failed start). */
  remove(server: Server): T | undefined {
    const value = this.values.get(server);
    this.values.delete(server);
    return value;
  }
}
