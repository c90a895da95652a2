/**
 * One partition of a stateful stream's state, as the coordinator keeps it in
 * memory: the entries by key identity, the batch time they stand at, and the
 * keys changed or removed since the stream's last checkpoint (what the next
 * checkpoint's delta holds).
 *
 * updateStateByKey builds a new map every batch (its function is called for
 * every key, as in Spark), carrying the changed keys forward; mapWithState
 * touches only keys with data, so it advances one map in place
 * (`advance`), after the batch's changes are all computed.
 */
import type { KeyId } from "../core/keys.js";
import type { StateEntry } from "../storage/interfaces.js";

export class StateMap {
  constructor(
    readonly entries: Map<KeyId, StateEntry> = new Map(),
    /** Keys changed or removed since the last checkpoint of this stream (by identity, with the key itself). */
    public dirty: Map<KeyId, unknown> = new Map(),
    /** The batch time the entries stand at. */
    public version = 0,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Applies one batch's changes in place and moves to `version`; `changes` maps a key to its entry, or undefined when removed. */
  advance(version: number, changes: ReadonlyMap<KeyId, { key: unknown; entry: StateEntry | undefined }>): void {
    for (const [id, c] of changes) {
      if (c.entry) this.entries.set(id, c.entry);
      else this.entries.delete(id);
      this.dirty.set(id, c.key);
    }
    this.version = version;
  }
}

/** What a mapWithState partition holds after a batch: the elements it mapped, and its state. */
export interface MappedWithState {
  readonly mapped: unknown[];
  readonly state: StateMap;
}

export function isStateMap(v: unknown): v is StateMap {
  return v instanceof StateMap;
}
