"""Many hosts over SSH: the inventory, the ssh channel, the protocol and both of its ends.

The near end (`client`) runs the system's `ssh` to each host of an Ansible inventory
and speaks JSON-RPC 2.0, one message a line, to `pglift-tui serve --stdio` there
(`serve`), which answers with the same core a local dashboard uses: `Host`, `Monitor`,
the health checks, the actions under their locks. No port is opened, no daemon stays.
"""
