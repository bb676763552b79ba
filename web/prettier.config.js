// Prettier formats web/ (`npm run format`); `npm run lint` checks it. Single quotes, trailing commas and
// lines of up to 160 characters are what the code was written with. prettier-plugin-tailwindcss
// sorts class names by Tailwind 4's order, read from the stylesheet that imports Tailwind.
/** @type {import('prettier').Config} */
export default {
  plugins: ['prettier-plugin-tailwindcss'],
  printWidth: 160,
  singleQuote: true,
  tailwindFunctions: ['clsx'],
  tailwindStylesheet: './src/index.css',
  trailingComma: 'all',
};
