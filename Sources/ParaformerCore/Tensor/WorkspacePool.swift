import Foundation

/// Reusable scratch arenas, so that repeated calls allocate nothing once warmed up.
package final class WorkspacePool: @unchecked Sendable {
    private var free: [Workspace] = []

    package init() {}
    private let lock = NSLock()

    package func take() -> Workspace {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? Workspace()
    }

    package func put(_ ws: Workspace) {
        ws.reset()
        lock.lock()
        free.append(ws)
        lock.unlock()
    }
}
