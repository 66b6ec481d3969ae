/**
 * The BullMQ priority a fused record+ticket add (`lua/fused-create.ts`) sends its ticket with.
 *
 * The script demotes a ticket by its handler's backlog, which only Redis knows at the time of the
 * add. BullMQ's add has already stored the job under the priority it was given, so a ticket sent
 * with its own level and then demoted costs four more commands after the add (read the priority,
 * rewrite it, read and rewrite the score in `prioritized`). Sending the level the handler's last
 * known backlog gives (the backlog the script answered for that handler's previous create on this
 * node) makes the script's check find the right priority already there in the common case. The
 * guess only chooses what is sent: the script still computes the level from the real backlog and
 * rewrites a wrong guess in the same step, so the stored order is what it would be without it.
 */
import { jobStoreKit, type JobRecord, type PreparedTicket } from 'clusterkit/adapter-kit';

/** Handlers remembered per store; past this the memo starts over (guesses are only a hint). */
const MAX_HANDLERS = 10_000;

/**
 * The demoted level of a ticket, as `FUSED_CREATE_BEFORE` computes it: the job layer's
 * `physicalPriority` (one level per doubling of the backlog, this job included, beyond `threshold`),
 * at most `maxLevel`; `base` when not beyond.
 */
export function demotedLevel(base: number, backlog: number, threshold: number, maxLevel: number): number {
  const level = jobStoreKit.physicalPriority(base, backlog, threshold);
  return level === base ? base : Math.min(level, maxLevel);
}

/** Last backlog per handler, and the priority a handler's next ticket is sent with. */
export class TicketPriorityGuess {
  private readonly backlogs = new Map<string, number>();

  /** The ticket record to send: `ticket.record` with the level the handler's last backlog (+1) gives. */
  recordFor(record: JobRecord, ticket: PreparedTicket): PreparedTicket['record'] {
    const last = this.backlogs.get(jobStoreKit.handlerKeyOf(record));
    if (last === undefined) return ticket.record;
    const level = demotedLevel(ticket.record.priority, last + 1, ticket.backlogThreshold, ticket.maxPriority);
    return level === ticket.record.priority ? ticket.record : { ...ticket.record, priority: level };
  }

  /** Remembers the backlog a create answered for `record`'s handler. */
  learn(record: JobRecord, backlog: number): void {
    if (this.backlogs.size >= MAX_HANDLERS) this.backlogs.clear();
    this.backlogs.set(jobStoreKit.handlerKeyOf(record), backlog);
  }
}
