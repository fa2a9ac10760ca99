// An independent OPC UA client for the interoperability test: node-opcua reads our
// simulated machine tool by browse path and prints the values as JSON.
// Usage: node node_opcua_client.js ENDPOINT NAMESPACE_URI PATH...
const { OPCUAClient, AttributeIds, makeBrowsePath } = require("node-opcua");

(async () => {
  const [endpoint, uri, ...paths] = process.argv.slice(2);
  const client = OPCUAClient.create({ endpointMustExist: false,
    connectionStrategy: { maxRetry: 3, initialDelay: 200 } });
  await client.connect(endpoint);
  const session = await client.createSession();
  const namespaces = await session.readNamespaceArray();
  const ns = namespaces.indexOf(uri);
  if (ns < 0) throw new Error("namespace " + uri + " not found");
  const values = {};
  for (const path of paths) {
    const relative = "/" + path.split("/").map((name) => ns + ":" + name).join("/");
    const result = await session.translateBrowsePath(makeBrowsePath("ObjectsFolder", relative));
    if (!result.targets || result.targets.length === 0) throw new Error("no node at " + path);
    const data = await session.read({ nodeId: result.targets[0].targetId,
      attributeId: AttributeIds.Value });
    values[path] = data.value.value;
  }
  console.log("values " + JSON.stringify(values));
  await session.close();
  await client.disconnect();
})().catch((error) => { console.error(String(error)); process.exit(1); });
