// OPC UA load for bench/opcua_items.py: node-opcua serving MACHINES objects of VARIABLES
// Double variables each (Objects/Load/M000/V0000 ...), every one changing once a second.
// node-opcua, not our asyncua simulator, so that the server's CPU is not Python's and the
// edge is measured against an independent implementation. Prints "ready <endpoint>".
// Usage: node opcua_load_server.js PORT MACHINES VARIABLES
const { OPCUAServer, Variant, DataType } = require("node-opcua");

(async () => {
  const [port, machines, variables] = process.argv.slice(2).map(Number);
  const server = new OPCUAServer({ port, resourcePath: "/UA/Load", hostname: "127.0.0.1",
    maxAllowedSessionNumber: 200, maxConnectionsPerEndpoint: 200,
    serverCapabilities: { maxMonitoredItems: 1000000, maxMonitoredItemsPerSubscription: 100000,
      operationLimits: { maxMonitoredItemsPerCall: 100000, maxNodesPerRead: 100000,
        maxNodesPerTranslateBrowsePathsToNodeIds: 100000 } },
    buildInfo: { productName: "circlemade bench load" } });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const namespace = addressSpace.getOwnNamespace();
  const load = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects,
    browseName: "Load" });
  const all = [];
  for (let m = 0; m < machines; m++) {
    const machine = namespace.addObject({ componentOf: load,
      browseName: "M" + String(m).padStart(3, "0") });
    for (let v = 0; v < variables; v++) {
      all.push(namespace.addVariable({ componentOf: machine,
        browseName: "V" + String(v).padStart(4, "0"), dataType: "Double",
        value: new Variant({ dataType: DataType.Double, value: 0 }) }));
    }
  }
  let tick = 0;
  setInterval(() => {
    tick += 1;
    for (let i = 0; i < all.length; i++) {
      all[i].setValueFromSource(new Variant({ dataType: DataType.Double, value: tick + i / 1e4 }));
    }
  }, 1000);
  await server.start();
  console.log("ready " + server.getEndpointUrl());
  process.on("SIGTERM", async () => { await server.shutdown(100); process.exit(0); });
})().catch((error) => { console.error(error); process.exit(1); });
