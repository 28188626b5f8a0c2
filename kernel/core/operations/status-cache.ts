import { SingleFlightCache } from './single-flight-cache';

/** The agent's status per instance (the resources route); a failed call is not remembered, so the next reader asks again. */
export class AgentStatusCache extends SingleFlightCache<Record<string, unknown>> {}
