// A track's label for people: its number within the service's session. The service's track
// ids are (session epoch << 20) + n, unique across restarts but 16 digits long; a label is n
// (ids from a replay of the simulator are small and shown whole). Ids stay in data-* keys.
const SESSION_BITS = 2 ** 20;

export function trackLabel(id: number): string {
  return `T${id % SESSION_BITS}`;
}
