// Offline basemap: Natural Earth land (1:10m, from the world-atlas package) drawn as a
// GeoJSON layer. The topojson ships with the build as its own file; nothing is fetched from
// the internet, so the picture works on a site with no outside network.
import L from "leaflet";
import { feature } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";
import landUrl from "world-atlas/land-10m.json?url";

export async function addBasemap(map: L.Map): Promise<L.GeoJSON | null> {
  try {
    const res = await fetch(landUrl);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const topo = (await res.json()) as Topology<{ land: GeometryCollection }>;
    const land = feature(topo, topo.objects.land);
    const layer = L.geoJSON(land, {
      pane: "basemap",
      interactive: false,
      style: { color: "#8a8f7a", weight: 1, fillColor: "#e9e6d8", fillOpacity: 1 },
    });
    layer.addTo(map);
    return layer;
  } catch (err) {
    // The picture is still usable on the plain background; say why the coast is missing.
    console.warn("basemap not loaded:", err);
    return null;
  }
}
