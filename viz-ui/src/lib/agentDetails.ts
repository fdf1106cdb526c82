// What the details panel says about one agent, derived from its events:
// the task it is on, its latest events, its errors (with stack traces) and
// the messages it sent and received. Pure, so the panel is a plain render.
import type { Micros, TraceEvent } from './types';

export interface CurrentTask {
  taskId: string;
  since: Micros;
  spanId: string | null;
  /** Attempt or description text from the start event, if any. */
  message: string;
}

export interface AgentMessage {
  seq: number;
  timestamp: Micros;
  /** The other agent. */
  peer: string;
  msgId: string | null;
  text: string;
}

export interface AgentDetails {
  currentTask: CurrentTask | null;
  /** Newest first. */
  recent: TraceEvent[];
  errors: TraceEvent[];
  messagesIn: AgentMessage[];
  messagesOut: AgentMessage[];
}

export const RECENT_MAX = 40;
export const MESSAGES_MAX = 30;

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** Unique by seq, oldest first. Both the REST tail and live events feed this. */
export function uniqueBySeq(events: readonly TraceEvent[]): TraceEvent[] {
  const by = new Map<number, TraceEvent>();
  for (const e of events) by.set(e.seq, e);
  return [...by.values()].sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
}

/**
 * Details of `agent` from any events (several agents, any order, repeats).
 * `upTo` (µs) cuts the story at a cursor time, so the panel agrees with a
 * time-travel cursor; null means now.
 */
export function deriveAgentDetails(agent: string, events: readonly TraceEvent[], upTo: Micros | null = null): AgentDetails {
  const all = uniqueBySeq(events).filter((e) => upTo === null || e.timestamp <= upTo);
  const mine = all.filter((e) => e.agentId === agent);
  // The text of a message lives on its sent event, which the receiver lacks.
  const sentText = new Map<string, string>();
  for (const e of all) {
    const id = str(e.metadata?.msgId);
    if (e.eventType === 'message.sent' && id) sentText.set(id, e.message);
  }

  let currentTask: CurrentTask | null = null;
  const messagesIn: AgentMessage[] = [];
  const messagesOut: AgentMessage[] = [];
  for (const e of mine) {
    const taskId = str(e.metadata?.taskId);
    switch (e.eventType) {
      case 'task.started':
        currentTask = { taskId: taskId ?? e.spanId ?? '?', since: e.timestamp, spanId: e.spanId, message: e.message };
        break;
      case 'task.completed':
      case 'task.failed':
        // Only the end of the task we think is running clears it.
        if (currentTask && (taskId === currentTask.taskId || (e.spanId !== null && e.spanId === currentTask.spanId))) currentTask = null;
        break;
      case 'agent.stopped':
        currentTask = null;
        break;
      case 'message.sent': {
        const msgId = str(e.metadata?.msgId);
        messagesOut.push({ seq: e.seq, timestamp: e.timestamp, peer: str(e.metadata?.to) ?? '?', msgId, text: e.message });
        break;
      }
      case 'message.received': {
        const msgId = str(e.metadata?.msgId);
        const text = (msgId && sentText.get(msgId)) || e.message || '';
        messagesIn.push({ seq: e.seq, timestamp: e.timestamp, peer: str(e.metadata?.from) ?? '?', msgId, text });
        break;
      }
    }
  }
  const newestFirst = <T,>(xs: T[], max: number) => xs.slice(-max).reverse();
  return {
    currentTask,
    recent: newestFirst(mine, RECENT_MAX),
    errors: newestFirst(mine.filter((e) => e.level === 'error' || e.stackTrace !== null), MESSAGES_MAX),
    messagesIn: newestFirst(messagesIn, MESSAGES_MAX),
    messagesOut: newestFirst(messagesOut, MESSAGES_MAX),
  };
}
