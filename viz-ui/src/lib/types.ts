// Wire types of the collector API (schema/api.md). Kept as plain interfaces
// with no runtime code so every other module, tests included, can share them.

/** Microseconds since the Unix epoch, as every collector timestamp is. */
export type Micros = number;

export type TraceStatus = 'active' | 'completed' | 'error';
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface TraceSummary {
  id: string;
  sessionId: string;
  startTime: Micros;
  endTime: Micros | null;
  status: TraceStatus;
  agentCount: number;
  eventCount: number;
  errorCount: number;
  durationUs: number | null;
}

export interface AgentSummary {
  id: string;
  type: string;
  eventCount: number;
}

/** GET /api/traces/:id adds the agents to the summary. */
export interface TraceDetail extends TraceSummary {
  agents: AgentSummary[];
}

export interface TraceEvent {
  id: string;
  seq: number;
  traceId: string;
  agentId: string;
  eventType: string;
  timestamp: Micros;
  level: Level;
  message: string;
  metadata: Record<string, unknown> | null;
  spanId: string | null;
  parentId: string | null;
  duration: number | null;
  count: number;
  stackTrace: string | null;
}

export interface TraceListResponse {
  traces: TraceSummary[];
  total: number;
  limit: number;
  offset: number;
  /** Newest committed event seq when the list was read (0: none). */
  lastSeq?: number;
}

export interface EventListResponse {
  events: TraceEvent[];
  total: number;
  limit: number;
  offset: number;
}

export interface ApiErrorBody {
  error: { status: number; message: string };
}

interface StreamBase {
  timestamp: Micros;
  /** Set on trace messages; absent or null on heartbeat/error. */
  traceId?: string | null;
}

export interface TraceEventBatch {
  events: TraceEvent[];
  batchId: string;
  /** Largest seq in `events`; what /ws?since= takes on reconnect. */
  sequenceNumber: number;
}

/** One WebSocket text frame. Discriminated on `type`. */
export type StreamMessage =
  | (StreamBase & { type: 'trace_event'; payload: TraceEventBatch })
  | (StreamBase & { type: 'trace_start'; payload: TraceSummary })
  | (StreamBase & { type: 'trace_end'; payload: TraceSummary })
  | (StreamBase & { type: 'heartbeat'; payload: Record<string, never> })
  | (StreamBase & { type: 'error'; payload: { message: string } });

export type WsStatus = 'connecting' | 'live' | 'reconnecting';
