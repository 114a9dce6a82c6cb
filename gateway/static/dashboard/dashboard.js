/* The operator dashboard (see gateway/graphql/dashboard.py): a plain client of the public
 * GraphQL API. The token typed into the form stays in this page's memory; it goes with
 * each request as a bearer token and, as the connection_init payload, with the
 * subscription's WebSocket (graphql-transport-ws), which keeps the occupancy live. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var endpoint = new URL(config.graphqlPath, window.location.href);
  var socketUrl = new URL(endpoint.href);
  socketUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
  var DAYS = 30;
  var MAX_DURATIONS = 500;  // the histogram's sessions: five pages of the newest ended ones

  var LOCATIONS = "query DashboardLocations { locations(first: 100) { nodes { uuid name " +
    "timeZone occupancy { devices occupied ratio } } } }";
  var OCCUPANCY = "query DashboardOccupancy { locations(first: 100) { nodes { uuid name " +
    "occupancy { devices occupied ratio } } } }";
  var DAILY = "query DashboardDaily($location: UUID!, $from: Date!, $to: Date!) {\n" +
    "  daily: sessionStats(bucket: DAY, filter: {locationId: $location, from: $from, to: $to})" +
    " { bucket count fees { currency value } }\n" +
    "  ended: sessionStats(filter: {locationId: $location, from: $from, to: $to," +
    " status: [ENDED]}) { count averageDuration p50Duration p90Duration }\n}";
  var DURATIONS = "query DashboardDurations($location: UUID!, $from: Date!, $to: Date!," +
    " $after: String) { sessions(first: 100, after: $after, filter: {locationId: $location," +
    " status: [ENDED], from: $from, to: $to}) { nodes { startTime endTime }" +
    " pageInfo { hasNextPage endCursor } } }";
  var LIVE = "subscription DashboardLive { sessionUpdated { uuid status } }";

  var state = { token: null, socket: null, charts: {}, refresh: null, generation: 0 };
  var $ = function (id) { return document.getElementById(id); };

  function status(text, error) {
    $("status").textContent = text;
    $("status").className = error ? "error" : "";
  }

  function query(document, variables) {
    return fetch(endpoint.href, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/graphql-response+json, application/json;q=0.9",
        "Authorization": "Bearer " + state.token
      },
      body: JSON.stringify({ query: document, variables: variables || {} })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (body.errors && body.errors.length) { throw new Error(body.errors[0].message); }
        if (!response.ok || !body.data) {
          throw new Error((body.message || body.detail || "HTTP " + response.status));
        }
        return body.data;
      });
    });
  }

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  function chart(id, title, series, data, bars) {
    var element = $(id);
    if (state.charts[id]) { state.charts[id].destroy(); }
    element.textContent = "";
    var width = Math.max(element.clientWidth, 320);
    var options = {
      title: title,
      width: width,
      height: 240,
      scales: { x: { time: !bars } },
      axes: [{}, { size: 60 }],
      series: [{}].concat(series.map(function (s, index) {
        var colours = ["#2f6fdb", "#d9822b", "#2c9c4b", "#a43fc0"];
        var colour = colours[index % colours.length];
        return {
          label: s, stroke: colour, fill: colour + "55", width: 1,
          paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false }
        };
      }))
    };
    state.charts[id] = new uPlot(options, data, element);
    element.setAttribute("data-points", String(data[0].length));
  }

  function drawDaily(groups) {
    var times = groups.map(function (g) { return Date.parse(g.bucket) / 1000; });
    chart("sessions-chart", "sessions per local day", ["sessions"],
      [times, groups.map(function (g) { return g.count; })]);
    var currencies = [];
    groups.forEach(function (g) {
      g.fees.forEach(function (fee) {
        if (currencies.indexOf(fee.currency) < 0) { currencies.push(fee.currency); }
      });
    });
    currencies.sort();
    if (!currencies.length) { currencies = ["revenue"]; }
    var revenue = currencies.map(function (currency) {
      return groups.map(function (g) {
        var fee = g.fees.filter(function (f) { return f.currency === currency; })[0];
        return fee ? Number(fee.value) : 0;  // for drawing only: the API's values are exact
      });
    });
    chart("revenue-chart", "revenue per local day", currencies, [times].concat(revenue));
  }

  function drawDurations(durations, ended) {
    var minutes = durations.map(function (seconds) { return seconds / 60; });
    var top = Math.max.apply(null, minutes.concat([1]));
    var width = Math.max(1, Math.ceil(top / 20));
    var bins = [], counts = [];
    for (var start = 0; start <= top; start += width) { bins.push(start); counts.push(0); }
    minutes.forEach(function (m) { counts[Math.min(Math.floor(m / width), counts.length - 1)] += 1; });
    chart("duration-chart", "newest " + durations.length + " ended sessions, by minutes",
      ["sessions"], [bins, counts], true);
    var summary = ended.length ? ended[0] : null;
    $("duration-summary").textContent = summary && summary.p50Duration !== null
      ? "p50 " + Math.round(summary.p50Duration / 60) + " min, p90 " +
        Math.round(summary.p90Duration / 60) + " min (" + summary.count + " ended sessions)"
      : "";
  }

  function drawOccupancy(locations) {
    var list = $("occupancy");
    list.textContent = "";
    locations.forEach(function (location) {
      var o = location.occupancy;
      var item = document.createElement("li");
      item.setAttribute("data-location", location.uuid);
      var name = document.createElement("span");
      name.textContent = location.name;
      var bar = document.createElement("span");
      bar.className = "bar";
      var fill = document.createElement("span");
      fill.style.width = Math.round((o.ratio || 0) * 100) + "%";
      bar.appendChild(fill);
      var numbers = document.createElement("span");
      numbers.className = "numbers";
      numbers.textContent = o.occupied + " / " + o.devices;
      item.appendChild(name);
      item.appendChild(bar);
      item.appendChild(numbers);
      list.appendChild(item);
    });
  }

  function durations(variables) {
    var found = [];
    function page(after) {
      return query(DURATIONS, Object.assign({ after: after }, variables)).then(function (data) {
        data.sessions.nodes.forEach(function (s) {
          if (s.startTime && s.endTime) {  // a booking ended unused has no duration
            found.push((Date.parse(s.endTime) - Date.parse(s.startTime)) / 1000);
          }
        });
        var info = data.sessions.pageInfo;
        if (info.hasNextPage && found.length < MAX_DURATIONS) { return page(info.endCursor); }
        return found;
      });
    }
    return page(null);
  }

  function showLocation() {
    var location = $("location").value;
    if (!location) { return Promise.resolve(); }
    var until = new Date($("until").value + "T00:00:00Z");
    var from = new Date(until.getTime() - (DAYS - 1) * 86400000);
    var variables = { location: location, from: isoDay(from), to: isoDay(until) };
    status("Loading " + $("location").selectedOptions[0].textContent + "…");
    return Promise.all([query(DAILY, variables), durations(variables)]).then(function (found) {
      drawDaily(found[0].daily);
      drawDurations(found[1], found[0].ended);
      status("Showing " + variables.from + " to " + variables.to + " in the location's time zone.");
    });
  }

  function refreshOccupancy() {
    clearTimeout(state.refresh);
    state.refresh = setTimeout(function () {
      query(OCCUPANCY).then(function (data) { drawOccupancy(data.locations.nodes); })
        .catch(function (error) { status(error.message, true); });
    }, 250);
  }

  function live(generation) {
    if (state.socket) { state.socket.close(); }
    var socket = new WebSocket(socketUrl.href, "graphql-transport-ws");
    state.socket = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({
        type: "connection_init", payload: { Authorization: "Bearer " + state.token }
      }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "occupancy", type: "subscribe",
          payload: { query: LIVE, operationName: "DashboardLive" } }));
        $("live").textContent = "live";
        $("live").className = "live on";
      } else if (message.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (message.type === "next") {
        refreshOccupancy();
      } else if (message.type === "error") {
        status("live updates: " + JSON.stringify(message.payload), true);
      }
    };
    socket.onclose = function () {
      $("live").textContent = "offline";
      $("live").className = "live";
      if (state.socket === socket && state.generation === generation) {
        setTimeout(function () {
          if (state.generation === generation) { live(generation); }
        }, 5000);
      }
    };
  }

  function connect(event) {
    event.preventDefault();
    var token = $("token").value.trim();
    if (token !== state.token) {
      state.token = token;
      state.generation += 1;
      var generation = state.generation;
      query(LOCATIONS).then(function (data) {
        var select = $("location");
        var chosen = select.value;
        select.textContent = "";
        data.locations.nodes.forEach(function (location) {
          var option = document.createElement("option");
          option.value = location.uuid;
          option.textContent = location.name + " (" + location.timeZone + ")";
          select.appendChild(option);
        });
        if (chosen) { select.value = chosen; }
        select.disabled = false;
        drawOccupancy(data.locations.nodes);
        live(generation);
        return showLocation();
      }).catch(function (error) { status(error.message, true); });
      return;
    }
    showLocation().catch(function (error) { status(error.message, true); });
  }

  $("until").value = isoDay(new Date());
  $("connect").addEventListener("submit", connect);
  $("location").addEventListener("change", function () {
    showLocation().catch(function (error) { status(error.message, true); });
  });
})();
