// An independent OPC UA server for the interoperability test: node-opcua with a laser
// cutter's few changing variables. Prints "ready <endpoint>" once it listens.
// Usage: node node_opcua_server.js PORT
const { OPCUAServer, Variant, DataType } = require("node-opcua");

(async () => {
  const port = Number(process.argv[2]);
  const server = new OPCUAServer({ port, resourcePath: "/UA/Laser", hostname: "127.0.0.1",
    buildInfo: { productName: "circlemade interop laser" } });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const namespace = addressSpace.getOwnNamespace();
  const laser = namespace.addObject({ organizedBy: addressSpace.rootFolder.objects,
    browseName: "Laser" });
  const tube = namespace.addObject({ componentOf: laser, browseName: "Tube" });
  const temperature = namespace.addVariable({ componentOf: tube, browseName: "Temperature",
    dataType: "Double", value: new Variant({ dataType: DataType.Double, value: 20 }) });
  const power = namespace.addVariable({ componentOf: laser, browseName: "Power",
    dataType: "Double", value: new Variant({ dataType: DataType.Double, value: 0 }) });
  const status = namespace.addVariable({ componentOf: laser, browseName: "Status",
    dataType: "String", value: new Variant({ dataType: DataType.String, value: "Ready" }) });
  let tick = 0;
  setInterval(() => {
    tick += 1;
    const cutting = Math.floor(tick / 10) % 2 === 1;
    temperature.setValueFromSource(new Variant({ dataType: DataType.Double, value: 20 + tick / 10 }));
    power.setValueFromSource(new Variant({ dataType: DataType.Double, value: cutting ? 1.2 : 0.05 }));
    status.setValueFromSource(new Variant({ dataType: DataType.String,
      value: cutting ? "Cutting" : "Ready" }));
  }, 100);
  await server.start();
  console.log("ready " + server.getEndpointUrl());
  process.on("SIGTERM", async () => { await server.shutdown(100); process.exit(0); });
})().catch((error) => { console.error(error); process.exit(1); });
