// Acknowledges what a client sends at once, so that a client with Nagle's algorithm on never waits on our delayed ACK.
import type { Socket } from "node:net";

/** An empty AMQP frame (size 8, data offset 2, type AMQP, channel 0): the heartbeat every peer ignores (§2.4.5). */
export const EMPTY_FRAME = Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]);

/**
 * rhea, the SDK's AMQP library, leaves Nagle on for a connection until it attaches a receiver: a small frame written
 * while an earlier one is unacknowledged waits for the ACK. Linux delays the ACK of data that gets no answer by up to
 * 40 ms, so every exchange in which the client writes two frames before we answer (CBS, $management, link attaches)
 * took 40 ms on loopback: 145 ms for the SDK's first getPartitionIds, 44 ms for each one after.
 * Node cannot set TCP_QUICKACK; an ACK also rides on any data we send. So once the connection is open, a chunk we
 * read and answered nothing to in the same tick gets an empty frame back, which carries the ACK.
 */
export function acknowledgePromptly(socket: Socket, isOpen: () => boolean): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let answered = false;
  socket.write = (...args: unknown[]) => {
    answered = true;
    return write(...args);
  };
  // Around rhea's own 'data' listener (added when the connection was accepted): before it, and after it.
  socket.prependListener("data", () => {
    answered = false;
  });
  socket.on("data", () => {
    if (!answered && isOpen() && !socket.destroyed) socket.write(EMPTY_FRAME);
  });
}
