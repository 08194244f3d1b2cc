/**
 * The UDP socket on 127.0.0.1 where HAProxy's workers send the request log (one datagram per
 * request, `format raw`), and the kernel's count of datagrams it dropped because the socket's
 * buffer was full (/proc/net/udp, column "drops"). Loopback only: the proxy's network
 * namespace is its own, so only HAProxy and the agent share it. Must not import src/swarm/.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';

/** 4 MiB asked; the kernel caps it at net.core.rmem_max. */
const receiveBufferBytes = 4 * 1024 * 1024;

export class RequestLogReceiver {
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {}

  /** Binds an ephemeral port on 127.0.0.1; `onLine` gets each datagram's text. */
  static async start(onLine: (line: string) => void): Promise<RequestLogReceiver> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: receiveBufferBytes });
    socket.on('message', (msg, from) => {
      if (from.address === '127.0.0.1') onLine(msg.toString('latin1'));
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RequestLogReceiver(socket, socket.address().port);
  }

  /** The `log` address for haproxy.cfg. */
  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Datagrams the kernel dropped on this socket since it was bound (0 when /proc says nothing). */
  async kernelDrops(): Promise<number> {
    const text = await readFile('/proc/net/udp', 'utf8').catch(() => '');
    return parseUdpDrops(text, this.port);
  }

  close(): void {
    this.socket.close();
  }
}

/** The "drops" column of the /proc/net/udp line of 127.0.0.1:<port>. */
export function parseUdpDrops(procNetUdp: string, port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of procNetUdp.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) return Number(f[f.length - 1]) || 0;
  }
  return 0;
}
