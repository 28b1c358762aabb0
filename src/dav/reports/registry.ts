import type { Node } from '../../store/nodes.js';
import type { DavRequest } from '../context.js';
import type { Element } from '../xml/parse.js';
import { clark } from '../xml/names.js';
import type { Space } from '../paths.js';

/** A REPORT (RFC 3253 §3.6) this server runs, named by its body's root element. */
export interface ReportDefinition {
  ns: string;
  local: string;
  /** Whether the resource offers it: listed in supported-report-set, and run only there. */
  appliesTo(space: Space, node: Node): boolean;
  run(req: DavRequest, body: Element): Promise<void>;
}

/** Every report, by Clark name; supported-report-set is computed from it so it cannot drift. */
export class ReportRegistry {
  readonly #byName = new Map<string, ReportDefinition>();

  register(...definitions: ReportDefinition[]): void {
    for (const def of definitions) {
      const key = clark(def.ns, def.local);
      if (this.#byName.has(key)) throw new Error(`report ${key} is defined twice`);
      this.#byName.set(key, def);
    }
  }

  get(ns: string, local: string): ReportDefinition | undefined {
    return this.#byName.get(clark(ns, local));
  }

  forResource(space: Space, node: Node): ReportDefinition[] {
    return [...this.#byName.values()].filter((r) => r.appliesTo(space, node));
  }
}

export const reports = new ReportRegistry();
