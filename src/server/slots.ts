// The one way a module keeps state of its own per user, per channel and per server: a typed slot
// declared once at module level (`const watched = userSlot<Set<string>>()`) and read and written
// through it, instead of fields on the core classes or maps keyed by strings or by owner.
//
// Users and channels keep their slot values in one array indexed by slot number, made on the
// first write. Until then every owner shares one empty array, so an idle client pays nothing for
// the slots of modules it never uses (tens of thousands of idle clients are the common case).
import type { Channel } from './channel.js';
import type { User } from './user.js';
import type { Server } from './server.js';

/** Shared by every user and channel that holds no slot value yet. */
export const NO_MODULE_STATE: readonly unknown[] = Object.freeze([]);

/** What holds slot values: User and Channel (their `moduleState`). */
interface SlotHolder {
  moduleState: readonly unknown[];
}

/** Counts the slots declared for one kind of owner, so each gets the next index. */
class SlotKind {
  count = 0;
}

const userSlots = new SlotKind();
const channelSlots = new SlotKind();

/** One module's value on each owner. `undefined` means absent, so T excludes it. */
export class Slot<Owner extends SlotHolder, T extends {}> {
  private readonly index: number;

  constructor(private readonly kind: SlotKind) {
    this.index = kind.count++;
  }

  get(owner: Owner): T | undefined {
    return owner.moduleState[this.index] as T | undefined;
  }

  set(owner: Owner, value: T): void {
    // Sized for every slot declared so far and filled, so the array stays packed.
    if (owner.moduleState === NO_MODULE_STATE) owner.moduleState = new Array<unknown>(this.kind.count).fill(undefined);
    (owner.moduleState as unknown[])[this.index] = value;
  }

  /** Forgets the owner's value and returns it. */
  delete(owner: Owner): T | undefined {
    const value = this.get(owner);
    if (value !== undefined) (owner.moduleState as unknown[])[this.index] = undefined;
    return value;
  }

  getOrCreate(owner: Owner, init: () => T): T {
    let value = this.get(owner);
    if (value === undefined) this.set(owner, (value = init()));
    return value;
  }
}

/** A per-user value of one module. */
export function userSlot<T extends {}>(): Slot<User, T> {
  return new Slot(userSlots);
}

/** A per-channel value of one module; it goes with the channel object (a recreated channel starts empty). */
export function channelSlot<T extends {}>(): Slot<Channel, T> {
  return new Slot(channelSlots);
}

/**
 * What a module keeps for each Server, such as the store it opened on the server's database. A
 * module object is shared by every Server of the process (tests run several), so the value is
 * keyed by the server, usually set in the module's init and deleted in its close.
 */
export class ServerSlot<T extends {}> {
  private readonly values = new WeakMap<Server, T>();

  /** `module` names the owner in the error `require` throws. */
  constructor(private readonly module: string) {}

  get(server: Server): T | undefined {
    return this.values.get(server);
  }

  /**
   * The value set in the module's init. Reading it outside init..close is a bug, reported the same
   * way by every module.
   */
  require(server: Server): T {
    const value = this.values.get(server);
    if (value === undefined) throw new Error(`the ${this.module} module was used before the server started it`);
    return value;
  }

  set(server: Server, value: T): void {
    this.values.set(server, value);
  }

  /** Forgets the server's value and returns it (undefined when none was set, e.g. a failed start). */
  delete(server: Server): T | undefined {
    const value = this.values.get(server);
    this.values.delete(server);
    return value;
  }

  getOrCreate(server: Server, init: () => T): T {
    let value = this.values.get(server);
    if (value === undefined) this.values.set(server, (value = init()));
    return value;
  }
}

/** A per-server value of the module named `module`. */
export function serverSlot<T extends {}>(module: string): ServerSlot<T> {
  return new ServerSlot(module);
}
