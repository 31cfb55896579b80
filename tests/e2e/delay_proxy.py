#!/usr/bin/env python3
"""A TCP proxy that holds every chunk for DELAY_MS in each direction, in
order, so that a link through it has a round trip 2 x DELAY_MS longer
(the kernel here has no netem). Usage: delay_proxy.py LISTEN_PORT
TARGET_HOST TARGET_PORT DELAY_MS PORT_FILE. Stops when its parent goes."""
import asyncio
import sys

listen_port, host, port, delay_ms, port_file = sys.argv[1:6]
delay = int(delay_ms) / 1000.0


async def pump(reader, writer):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        await queue.put((loop.time(), None))
    await sender


async def handle(client_reader, client_writer):
    try:
        relay_reader, relay_writer = await asyncio.open_connection(host, int(port))
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pump(client_reader, relay_writer), pump(relay_reader, client_writer),
                         return_exceptions=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(listen_port))
    with open(port_file, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()

asyncio.run(main())
