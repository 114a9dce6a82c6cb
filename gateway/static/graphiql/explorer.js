/* The gateway's GraphiQL page (see gateway/graphql/explorer.py): every asset comes from
 * this server; the header editor's headers go with each HTTP request and, as the
 * connection_init payload, with each subscription's WebSocket, which is where the
 * gateway reads a subscriber's token. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("explorer-config").textContent);
  var url = new URL(config.graphqlPath, window.location.href);
  var subscriptionUrl = new URL(url.href);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  // GraphiQL updates the operation name and document AST 100 ms after an edit or a tab
  // switch, so an operation run sooner carries the previous tab's: a subscription would
  // then go over HTTP as "Unknown operation". Read both from the text being sent instead.
  function current(params, options) {
    var document;
    try {
      document = GraphiQL.GraphQL.parse(params.query);
    } catch (error) {
      return { params: params, options: options };  // the server reports the syntax error
    }
    var names = document.definitions
      .filter(function (d) { return d.kind === "OperationDefinition"; })
      .map(function (d) { return d.name ? d.name.value : null; });
    var name = params.operationName;
    if (names.indexOf(name) < 0 && names.length === 1) {
      name = names[0];
    }
    return {
      params: Object.assign({}, params, { operationName: name || undefined }),
      options: Object.assign({}, options, { documentAST: document })
    };
  }

  // A fetcher per operation, made with the headers the editor holds right now.
  function fetcher(params, options) {
    var operation = current(params, options || {});
    var headers = operation.options.headers || {};
    return GraphiQL.createFetcher({
      url: url.href,
      subscriptionUrl: subscriptionUrl.href,
      headers: headers,
      wsConnectionParams: headers,
      enableIncrementalDelivery: false
    })(operation.params, operation.options);
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: config.tabs,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
      storage: GraphiQL.createLocalStorage({ namespace: config.storageNamespace })
    })
  );
})();
