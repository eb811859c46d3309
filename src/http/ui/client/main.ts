/**
 * The dashboard's entry point: esbuild bundles this file and everything it imports into one
 * script (an IIFE: no globals leak into the page), served as /ui/app.js. See ../README.md.
 */
import { init } from './app.js';

init();
