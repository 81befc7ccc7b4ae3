import '../node/polyfill/index.js'
