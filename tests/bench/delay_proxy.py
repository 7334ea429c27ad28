"""A TCP relay that delays every byte by a fixed time each way (benchmark only).

    python tests/bench/delay_proxy.py DELAY_MS LISTEN_HOST:PORT=TARGET_HOST:PORT ...

This machine's kernel has no netem (`CONFIG_NET_SCH_NETEM is not set`), so `tc qdisc
... netem delay` cannot add round-trip time; this relay does it in user space, in a
process of its own: each chunk read at time t is written at t + DELAY, in order, in
both directions (a 25 ms delay makes a 50 ms round trip). It prints "ready" once it
listens, and runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
import time


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def later() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(later())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()


async def main(delay: float, routes: list[tuple[str, int, str, int]]) -> None:
    async def relay(
        target: tuple[str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pump(reader, up_writer, delay), _pump(up_reader, writer, delay))

    servers = []
    for host, port, to_host, to_port in routes:

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, t: tuple[str, int] = (to_host, to_port)
        ) -> None:
            await relay(t, r, w)

        servers.append(await asyncio.start_server(handle, host, port))
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    routes = []
    for arg in sys.argv[2:]:
        listen, target = arg.split("=")
        host, port = listen.rsplit(":", 1)
        to_host, to_port = target.rsplit(":", 1)
        routes.append((host, int(port), to_host, int(to_port)))
    asyncio.run(main(float(sys.argv[1]) / 1000, routes))
