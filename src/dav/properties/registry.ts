import type { Queryable } from '../../store/db.js';
import type { Element } from '../xml/parse.js';
import type { Node } from '../../store/nodes.js';
import { listProperties, type DeadProperty } from '../../store/properties.js';
import { usage } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import { clark } from '../xml/names.js';

/** A resource as the property layer sees it: stored (with a node) or virtual (above the homes). */
export interface PropertyTarget {
  href: string;
  isCollection: boolean;
  /** Decoded last path segment ('' above the homes). */
  name: string;
  node?: Node;
  /** Lock root path ('files/a/b') for stored resources. */
  lockPath?: string;
  /** Set on a user's principal resource (RFC 3744 §2): that user's name. */
  principal?: string;
  /** Set on the collection of principals (/dav/principals/, RFC 3744 §5.8). */
  principalCollection?: true;
}

/**
 * Lookups shared by every target of one response, each done once for all of them (one query
 * for the dead properties of a whole Depth 1 listing, not one per member).
 */
export class PropertyScope {
  #dead: Map<number, DeadProperty[]> | undefined;
  #usage: Promise<{ used: number; quota: number | null }> | undefined;
  readonly #cache = new Map<string, Promise<unknown>>();

  constructor(
    readonly q: Queryable,
    readonly userId: number,
    readonly req: Pick<DavRequest, 'deps' | 'user' | 'prefix'>,
    readonly targets: readonly PropertyTarget[],
  ) {}

  async deadProperties(target: PropertyTarget): Promise<DeadProperty[]> {
    if (!target.node) return [];
    if (!this.#dead) {
      const ids = this.targets.flatMap((t) => (t.node ? [t.node.id] : []));
      this.#dead = await listProperties(this.q, this.userId, ids);
    }
    return this.#dead.get(target.node.id) ?? [];
  }

  usage(): Promise<{ used: number; quota: number | null }> {
    this.#usage ??= usage(this.q, this.userId);
    return this.#usage;
  }

  /** A per-response memo for plugins' own batched lookups (locks, later calendar data). */
  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let value = this.#cache.get(key) as Promise<T> | undefined;
    if (!value) {
      value = load();
      this.#cache.set(key, value);
    }
    return value;
  }
}

export interface PropertyDefinition {
  ns: string;
  local: string;
  /** Returned by allprop (RFC 4918 §9.1: the live properties it defines, not expensive ones like quota). */
  inAllprop: boolean;
  /** Inner XML of the property, or undefined when this resource does not have it. */
  get(target: PropertyTarget, scope: PropertyScope): Promise<string | undefined> | string | undefined;
  /**
   * Writable live properties are stored as dead ones (displayname), or by `store` when they
   * live elsewhere; any other definition is protected and a PROPPATCH on it fails with
   * DAV:cannot-modify-protected-property.
   */
  writable?: boolean;
  store?: PropertyStore;
}

/** A refused property value: its status and precondition (e.g. CALDAV:valid-calendar-data). */
export interface PropertyRefusal {
  status: number;
  ns: string;
  condition: string;
}

/** How a writable live property kept outside the dead properties is checked and written. */
export interface PropertyStore {
  /** undefined when the value is acceptable for this resource. */
  validate(target: PropertyTarget, value: Element): PropertyRefusal | undefined;
  /** Writes a value (undefined: remove) inside the caller's transaction. */
  apply(tx: Queryable, target: PropertyTarget, value: Element | undefined): Promise<void>;
}

/** Every live property, by Clark name. Registering one twice is a start-up error. */
export class PropertyRegistry {
  readonly #byName = new Map<string, PropertyDefinition>();

  register(...definitions: PropertyDefinition[]): void {
    for (const def of definitions) {
      const key = clark(def.ns, def.local);
      if (this.#byName.has(key)) throw new Error(`property ${key} is defined twice`);
      this.#byName.set(key, def);
    }
  }

  get(ns: string, local: string): PropertyDefinition | undefined {
    return this.#byName.get(clark(ns, local));
  }

  all(): PropertyDefinition[] {
    return [...this.#byName.values()];
  }
}

export const properties = new PropertyRegistry();
